package supabase_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

// localRun is one row of scheduler.next_local_runs: the local date of an organisation's next run, when
// (UTC) and its state.
type localRun struct {
	date  string
	at    time.Time
	state string
}

func nextLocalRun(t *testing.T, conn *pgx.Conn, organisation string, now time.Time) localRun {
	t.Helper()
	var r localRun
	var d time.Time
	if err := conn.QueryRow(context.Background(), `select local_date, next_run_utc, state from scheduler.next_local_runs($1)
		where organisation = $2`, now, organisation).Scan(&d, &r.at, &r.state); err != nil {
		t.Fatal(err)
	}
	r.date, r.at = d.Format(time.DateOnly), r.at.UTC()
	return r
}

// Once per local date, after a whole-project run: a date that a whole-project run completed before an
// organisation's send hour is not run again for its slot, and next_local_runs says so (its next run is
// tomorrow's), as due_slots has it. Before, next_local_runs showed today's send hour as "scheduled" while
// due_slots would never queue it.
func TestNextLocalRunAfterWholeProjectRun(t *testing.T) {
	t.Parallel()
	conn := connect(t, pgtest.NewDatabase(t))
	addOrganisations(t, conn, localOrgs[:1])                 // Oslo, 08:00
	early := time.Date(2026, 6, 15, 3, 0, 0, 0, time.UTC)    // 05:00 CEST
	june15 := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)   // its local date
	sendHour := time.Date(2026, 6, 15, 6, 0, 0, 0, time.UTC) // 08:00 CEST
	tomorrow := time.Date(2026, 6, 16, 6, 0, 0, 0, time.UTC) // 08:00 CEST the next day
	if got, want := nextLocalRun(t, conn, "Oslo", early), (localRun{"2026-06-15", sendHour, "scheduled"}); got != want {
		t.Fatalf("before any run: %+v, want %+v", got, want)
	}
	completeSlot(t, conn, "", june15)
	if got := dueSlots(t, conn, sendHour.Add(5*time.Minute)); len(got) != 0 {
		t.Fatalf("at the send hour after a whole-project run: due %v, want nothing", got)
	}
	if got, want := nextLocalRun(t, conn, "Oslo", early), (localRun{"2026-06-16", tomorrow, "scheduled"}); got != want {
		t.Errorf("after a whole-project run of today: %+v, want %+v (tomorrow's send hour)", got, want)
	}
	if got, want := nextLocalRun(t, conn, "Oslo", sendHour.Add(time.Hour)), (localRun{"2026-06-16", tomorrow, "scheduled"}); got != want {
		t.Errorf("after the send hour: %+v, want %+v", got, want)
	}
}

// An explicit slot request for a date that a whole-project run has completed answers already_completed and
// writes nothing: the whole project evaluated the slot's organisations for that date. Before, it evaluated
// them again, and a mentor who became due since (here: one who joined the organisation 60 days ago between
// the two runs) was nudged by a second evaluation of the date.
func TestSlotRequestAfterWholeProjectRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := slotSetup(t)
	rep, err := b.engine.Run(ctx, engine.Request{EvaluationDate: b.today})
	if err != nil || rep.Status != engine.Completed {
		t.Fatalf("whole project: %v, %s", err, rep.Status)
	}
	before := b.notified(t)
	if _, err := b.conn.Exec(ctx, `insert into public.peer_mentors (organisation_id, full_name, joined_on)
		select id, 'Late mentor', $1::date - 60 from public.organisations where name = 'Oslo'`, b.today); err != nil {
		t.Fatal(err)
	}
	rep, err = b.engine.Run(ctx, engine.Request{Slot: mustSlot(t, "Europe/Oslo@08"), EvaluationDate: b.today})
	if err != nil || rep.Status != engine.AlreadyCompleted {
		t.Fatalf("Oslo's slot after the whole project: %v, status %s; want already_completed", err, rep.Status)
	}
	if got := b.notified(t); !slices.Equal(got, before) {
		t.Errorf("notifications %v after the slot request, want %v", got, before)
	}
}

// What a send-hour change does on the day it is made (docs/supabase.md says it): an organisation whose slot
// has run today and whose new send hour is still ahead is in a new slot, which is due at the new hour for
// the same local date, so the organisation is evaluated a second time that day. Nobody is notified twice
// for one reason (the keys and cooldowns do not know slots): the second run finds the morning's
// notifications as duplicates.
func TestSendHourChangedAfterTheSlotRan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := slotSetup(t)
	oslo := mustSlot(t, "Europe/Oslo@08")
	date := b.today
	if rep, err := b.engine.Run(ctx, engine.Request{Slot: oslo, EvaluationDate: date}); err != nil || rep.Status != engine.Completed {
		t.Fatalf("Oslo at 08: %v, %s", err, rep.Status)
	}
	before := b.notified(t)
	if _, err := b.conn.Exec(ctx, `insert into scheduler.delivery_config (organisation_id, send_hour)
		select id, 20 from public.organisations where name = 'Oslo'`); err != nil {
		t.Fatal(err)
	}
	loc := mustZone(t, "Europe/Oslo@08")
	d, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(d.Year(), d.Month(), d.Day(), 20, 5, 0, 0, loc)
	want := []due{{"Europe/Oslo@20", time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)}}
	got := slices.DeleteFunc(dueSlots(t, b.conn, at), func(d due) bool { return !strings.HasPrefix(d.slot, "Europe/Oslo@") })
	if !slices.Equal(got, want) {
		t.Fatalf("at the new send hour: due %v, want %v (the new slot, the same local date)", got, want)
	}
	rep, err := b.engine.Run(ctx, engine.Request{Slot: mustSlot(t, "Europe/Oslo@20"), EvaluationDate: date,
		Scenarios: []string{engine.Inactivity}})
	if err != nil || rep.Status != engine.Completed {
		t.Fatalf("Oslo at 20: %v, %s", err, rep.Status)
	}
	if s := rep.Scenarios[0]; s.Evaluated != 3 || s.Notified != 0 || s.Duplicates != 3 {
		t.Errorf("the second evaluation: evaluated %d, notified %d, duplicates %d; want 3, 0, 3", s.Evaluated, s.Notified, s.Duplicates)
	}
	if got := b.notified(t); !slices.Equal(got, before) {
		t.Errorf("notifications %v after the second evaluation, want %v", got, before)
	}
}

// The database and the function agree on which time zones a slot may name: scheduler.zone_known (which
// due_slots, next_local_runs and the watchdog read) accepts exactly the zones engine.ParseSlot accepts, so
// that the hourly job never queues a slot the function refuses, and an organisation in such a zone shows as
// "unknown time zone" in next_local_runs and task verify.
func TestZoneKnownAgreesWithParseSlot(t *testing.T) {
	t.Parallel()
	conn := connect(t, pgtest.NewMigratedDatabase(t))
	for _, zone := range []string{"Europe/Oslo", "America/Argentina/Buenos_Aires", "Asia/Kolkata", "UTC", "Etc/UTC",
		"Etc/GMT+5", "Pacific/Auckland", "Factory", "posixrules", "localtime", "posix/Europe/Oslo", "right/Europe/Oslo",
		"CET", "US/Eastern", "Japan", "GMT", "Mars/Olympus", "Europe/Nowhere"} {
		var known bool
		if err := conn.QueryRow(context.Background(), `select scheduler.zone_known($1)`, zone).Scan(&known); err != nil {
			t.Fatal(err)
		}
		_, err := engine.ParseSlot(zone + "@08")
		if accepted := err == nil; known != accepted {
			t.Errorf("%s: zone_known %v, ParseSlot accepts %v (%v)", zone, known, accepted, err)
		}
	}
}
