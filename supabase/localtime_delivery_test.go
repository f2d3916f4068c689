package supabase_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
)

// Two slots of one date, evaluated side by side: once Oslo's evaluation is complete, the push delivery
// releases Oslo's notifications of that date, and not New York's while New York's is still running (its
// most important notification may not be written yet, and a mentor's daily cap would be spent on a lesser
// one); once New York's is complete, its notifications go too.
func TestDeliveryWaitsForTheOrganisationsOwnSlot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := connect(t, pgtest.NewDatabase(t))
	ids := addOrganisations(t, conn, []localOrg{localOrgs[0], localOrgs[4]}) // Oslo and New York, 08:00
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for name, org := range ids {
		if _, err := conn.Exec(ctx, `with m as (
			  insert into public.peer_mentors (organisation_id, full_name) values ($1, $2) returning id)
			, d as (insert into public.device_tokens (user_id, token, platform) select id, 'token-' || $2, 'android' from m)
			insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key, priority)
			select id, $1, 'inactivity', $3::date, 'inactivity:' || id || ':' || $3::date::text, 10 from m`, org, name, today.Format(time.DateOnly)); err != nil {
			t.Fatal(err)
		}
	}
	// Oslo's slot: every scenario done. New York's: inactivity done, milestone still running.
	if _, err := conn.Exec(ctx, `insert into scheduler.checkpoints (evaluation_date, scenario, slot, done)
		select $1::date, e.scenario, 'Europe/Oslo@08', true from scheduler.enabled_scenarios() e
		union all
		select $1::date, e.scenario, 'America/New_York@08', e.scenario = 'inactivity' from scheduler.enabled_scenarios() e`, today.Format(time.DateOnly)); err != nil {
		t.Fatal(err)
	}
	// 14:00 UTC: 15:00 in Oslo, 09:00 or 10:00 in New York, outside both organisations' quiet hours.
	at := today.Add(14 * time.Hour)
	claim := func() []string {
		t.Helper()
		return queryStrings(t, conn, `select o.name || ' ' || c.disposition
			from scheduler.claim_pushes(gen_random_uuid(), $1, $2::date, 100, 60000, 5) c
			join public.organisations o on o.id = c.organisation_id order by 1`, at, today.Format(time.DateOnly))
	}
	if got := claim(); !slices.Equal(got, []string{"Oslo send"}) {
		t.Fatalf("with New York's evaluation running: claimed %v, want Oslo's notification only", got)
	}
	if _, err := conn.Exec(ctx, `update scheduler.checkpoints set done = true where slot = 'America/New_York@08'`); err != nil {
		t.Fatal(err)
	}
	if got := claim(); !slices.Equal(got, []string{"New York send"}) {
		t.Fatalf("with New York's evaluation complete: claimed %v, want New York's notification", got)
	}
}
