package status_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/infra/dev/status"
)

// status --effectiveness on a small history: an organisation with 12 nudged mentors (9 came back within
// 14 days) and 12 held out (3 came back), one week; then a week with 5 nudged mentors only, which is not shown.
func TestEffectivenessReport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	monday := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	if _, err := conn.Exec(ctx, `
		insert into public.organisations (id, name) values ('00000000-0000-0000-0000-0000000000aa', 'Testforeningen');
		insert into public.peer_mentors (id, organisation_id, full_name, status, joined_on)
		select md5('m' || i)::uuid, '00000000-0000-0000-0000-0000000000aa', 'M ' || i, 'active', '2026-01-01'
		from generate_series(1, 29) i;
		insert into public.activities (user_id, activity_date)
		select md5('m' || i)::uuid, '2026-11-02'::date + 3 from generate_series(1, 29) i
		where i <= 9 or i between 13 and 15;
		insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key, priority)
		select md5('m' || i)::uuid, '00000000-0000-0000-0000-0000000000aa', 'inactivity',
		       case when i <= 12 then '2026-11-02'::date else '2026-11-09'::date end, 'k' || i, 10
		from generate_series(1, 29) i where i <= 12 or i > 24;
		insert into scheduler.held_out_nudges (user_id, organisation_id, scenario, evaluation_date, idempotency_key, priority)
		select md5('m' || i)::uuid, '00000000-0000-0000-0000-0000000000aa', 'inactivity', '2026-11-02', 'k' || i, 10
		from generate_series(13, 24) i;`); err != nil {
		t.Fatal(err)
	}
	effects, err := status.ReadEffectiveness(ctx, conn, monday, monday.AddDate(0, 0, 13), monday.AddDate(0, 0, 40))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := status.RenderEffectiveness(&out, monday, monday.AddDate(0, 0, 13), effects); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Testforeningen  inactivity  2026-11-02  12      75%  75%   12        25%  25%",
		"+50.0 (+10.1 to +72.8)", // by hand: Wilson 9/12 (0.4677, 0.9111), 3/12 (0.0889, 0.5323); Newcombe
		"Testforeningen  inactivity  2026-11-09  <10     -    -     <10       -    -",
		"too few mentors to show (fewer than 10 in each group)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
	if got, want := status.EffectivenessLine(effects), "effectiveness (goal within 14 days, groups of 10+ mentors): inactivity 75% of 12 nudged vs. 25% of 12 held out"; got != want {
		t.Errorf("line %q, want %q", got, want)
	}
}
