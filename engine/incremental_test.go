package engine_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/peermentor/scenario-scheduler/engine"
)

// twin is one of the two databases of the incremental property test: the same writes go to both.
type twin struct {
	name string
	b    *testBundle
}

// dropChangeFeed removes the reference mapping's change-feed triggers: the database then evaluates in full
// every day (reason no_feed), as an app without the feed does.
func dropChangeFeed(t *testing.T, b *testBundle) {
	t.Helper()
	for _, tr := range []string{"activities_feed_insert on public.activities", "activities_feed_update on public.activities",
		"activities_feed_delete on public.activities", "certifications_feed_insert on public.certifications",
		"certifications_feed_update on public.certifications", "certifications_feed_delete on public.certifications",
		"peer_mentors_feed_insert on public.peer_mentors", "peer_mentors_feed_update on public.peer_mentors"} {
		b.exec(t, "drop trigger "+tr)
	}
}

// uuidFrom makes a deterministic id: the same in both databases.
func uuidFrom(rng *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff,
		rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff)
}

// keyDate is a notification as the property test compares it: its key, its date and its data.
type keyDate struct{ Key, Date, Data string }

func keyDates(t *testing.T, b *testBundle) []keyDate {
	t.Helper()
	var out []keyDate
	for _, n := range b.notifications(t) {
		out = append(out, keyDate{n.Key, n.Date, n.Data})
	}
	return out
}

// The incremental run creates exactly the notifications the full evaluation creates, day by day: two
// databases get the same random history (new mentors, activities on the day and backfilled weeks back,
// deleted activities, certifications added and removed, status changes, moves between organisations,
// configuration changes, days missed and backfilled later); one has the change feed and runs incremental
// whenever its state allows, the other has no feed and evaluates everyone every day. Whole-project runs, and
// runs per slot (two organisations in two time zones).
func TestIncrementalRunEqualsFullEvaluation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		seed  uint64
		slots []string
	}{
		{"whole project", 20261207, []string{""}},
		{"per slot", 7, []string{"Europe/Oslo@08", "Asia/Tokyo@08"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testIncrementalAgainstFull(t, tc.seed, tc.slots)
		})
	}
}

func testIncrementalAgainstFull(t *testing.T, seed uint64, slotNames []string) {
	const (
		mentors = 40
		days    = 42
	)
	// Batches of at most 4 mentors: a day's evaluation takes several, in both modes.
	small := func(o *engine.Options) { o.MinBatch, o.MaxBatch = 2, 4 }
	inc, full := twin{"incremental", setup(t, small)}, twin{"full", setup(t, small)}
	dropChangeFeed(t, full.b)
	both := []twin{inc, full}
	exec := func(sql string, args ...any) {
		t.Helper()
		for _, tw := range both {
			tw.b.exec(t, sql, args...)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	orgs := []string{uuidFrom(rng), uuidFrom(rng)}
	exec(`insert into public.organisations (id, name, timezone) values ($1, 'Oslo', 'Europe/Oslo'), ($2, 'Tokyo', 'Asia/Tokyo')`,
		orgs[0], orgs[1])
	var slots []engine.Slot
	for _, s := range slotNames {
		if s == "" {
			slots = append(slots, engine.Slot{})
			continue
		}
		sl, err := engine.ParseSlot(s)
		if err != nil {
			t.Fatal(err)
		}
		slots = append(slots, sl)
	}

	var ids []string
	newMentor := func(today int) {
		id := uuidFrom(rng)
		status := []string{"active", "active", "active", "paused"}[rng.IntN(4)]
		exec(`insert into public.peer_mentors (id, organisation_id, full_name, status, joined_on) values ($1, $2, 'M', $3, $4::date)`,
			id, orgs[rng.IntN(2)], status, day(today-rng.IntN(120)))
		ids = append(ids, id)
		for range rng.IntN(14) {
			exec(`insert into public.activities (user_id, activity_date) values ($1, $2::date)`, id, day(today-rng.IntN(90)))
		}
		for range rng.IntN(2) {
			exec(`insert into public.certifications (id, user_id, name, expires_at) values ($1, $2, 'C', $3::date)`,
				uuidFrom(rng), id, day(today+rng.IntN(60)-5))
		}
	}
	for range mentors {
		newMentor(0)
	}

	// change makes one random change of the app's data or the scheduler's configuration, the same in both.
	change := func(today int) string {
		m := ids[rng.IntN(len(ids))]
		switch k := rng.IntN(20); {
		case k < 7:
			exec(`insert into public.activities (user_id, activity_date) values ($1, $2::date)`, m, day(today))
			return "activity today"
		case k < 9:
			exec(`insert into public.activities (user_id, activity_date) values ($1, $2::date)`, m, day(today-1-rng.IntN(60)))
			return "activity backfilled"
		case k < 10:
			exec(`insert into public.activities (user_id, activity_date) values ($1, $2::date)`, m, day(today+1+rng.IntN(20)))
			return "activity ahead"
		case k < 12:
			exec(`delete from public.activities where id = (select max(id) from public.activities where user_id = $1)`, m)
			return "activity deleted"
		case k < 13:
			exec(`insert into public.certifications (id, user_id, name, expires_at) values ($1, $2, 'C', $3::date)`,
				uuidFrom(rng), m, day(today+rng.IntN(45)))
			return "certification"
		case k < 14:
			exec(`delete from public.certifications where id = (select id from public.certifications where user_id = $1 order by id limit 1)`, m)
			return "certification deleted"
		case k < 16:
			exec(`update public.peer_mentors set status = case status when 'active' then 'paused' else 'active' end where id = $1`, m)
			return "status"
		case k < 17:
			exec(`update public.peer_mentors set organisation_id = $2 where id = $1`, m, orgs[rng.IntN(2)])
			return "organisation"
		case k < 18:
			newMentor(today)
			return "new mentor"
		default:
			switch rng.IntN(4) {
			case 0:
				exec(`insert into scheduler.scenario_config (scenario, organisation_id, params) values ('inactivity', $1, '{"inactivity_days": 10}')
					on conflict (scenario, organisation_id) do update set params = excluded.params`, orgs[rng.IntN(2)])
			case 1:
				exec(`delete from scheduler.scenario_config where organisation_id is not null`)
			case 2:
				exec(`insert into scheduler.scenario_config (scenario, organisation_id, params) values ('certification_expiry', $1, '{"rungs": [14, 3]}')
					on conflict (scenario, organisation_id) do update set params = excluded.params`, orgs[rng.IntN(2)])
			default:
				exec(`insert into scheduler.scenario_config (scenario, organisation_id, enabled) values ('milestone', $1, false)
					on conflict (scenario, organisation_id) do update set enabled = not coalesce(scheduler.scenario_config.enabled, true)`, orgs[rng.IntN(2)])
			}
			return "configuration"
		}
	}

	var incrementalRuns, incrementalEvaluated, fullEvaluated int
	runDay := func(today, d int) {
		t.Helper()
		for _, tw := range both {
			tw.b.setToday(today)
			for _, sl := range slots {
				req := engine.Request{Slot: sl}
				if d != today {
					req.EvaluationDate = day(d)
				}
				rep := tw.b.run(t, req)
				if rep.Status != engine.Completed {
					t.Fatalf("%s, day %d (today %d), slot %q: %s %+v", tw.name, d, today, sl, rep.Status, rep.Scenarios)
				}
				for _, s := range rep.Scenarios {
					if tw.name == "full" && s.Mode != engine.ModeFull {
						t.Fatalf("the database without the feed ran %s %s (%s) on day %d", s.Scenario, s.Mode, s.ModeReason, d)
					}
					if tw.name == "incremental" && s.Mode == engine.ModeIncremental {
						incrementalRuns++
						incrementalEvaluated += s.Evaluated
					}
					if tw.name == "full" {
						fullEvaluated += s.Evaluated
					}
					if s.StateRepairs != 0 {
						t.Errorf("%s: %d state repairs on day %d (%s)", tw.name, s.StateRepairs, d, s.Scenario)
					}
				}
			}
		}
	}

	var missed []int
	for today := range days {
		var log []string
		for range rng.IntN(8) {
			log = append(log, change(today))
		}
		if today > 0 && rng.IntN(9) == 0 {
			missed = append(missed, today) // downtime: no run today; backfilled two days later
		} else {
			runDay(today, today)
		}
		for len(missed) > 0 && missed[0] <= today-2 {
			runDay(today, missed[0])
			missed = missed[1:]
		}
		if diff := cmp.Diff(keyDates(t, full.b), keyDates(t, inc.b)); diff != "" {
			t.Fatalf("day %d (changes %v): notifications differ (-full +incremental):\n%s", today, log, diff)
		}
	}
	total := len(keyDates(t, inc.b))
	t.Logf("%d days, %d mentors, %d notifications; %d incremental scenario runs evaluated %d mentors, the full database %d",
		days, len(ids), total, incrementalRuns, incrementalEvaluated, fullEvaluated)
	if incrementalRuns < days {
		t.Errorf("only %d scenario runs were incremental", incrementalRuns)
	}
	if total < 30 {
		t.Errorf("only %d notifications: the history tests little", total)
	}
}

// A damaged state (due dates pushed far into the future, as a change the feed did not see would leave them)
// makes the incremental run miss nudges; the reconciliation, on demand (scheduler.reconcile()) or when the
// last one is older than reconcile_days, evaluates everyone, repairs the state and counts the repairs.
func TestReconciliationRepairsADamagedState(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Five mentors whose spell reaches 14 days on day 2, five on day 9, and five who stay busy.
	var soon, later []string
	for range 5 {
		m := b.mentor(t, "active", -100)
		b.activities(t, m, -12)
		soon = append(soon, m)
		m = b.mentor(t, "active", -100)
		b.activities(t, m, -5)
		later = append(later, m)
		m = b.mentor(t, "active", -100)
		b.activities(t, m, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	}
	runDay := func(d int) engine.ScenarioReport {
		t.Helper()
		b.setToday(d)
		rep := b.run(t, engine.Request{Scenarios: []string{engine.Inactivity}})
		if rep.Status != engine.Completed {
			t.Fatalf("day %d: %s", d, rep.Status)
		}
		return scenario(t, rep, engine.Inactivity)
	}
	nudged := func(ms []string, d int) int {
		return b.count(t, `select count(*)::integer from public.notifications where scenario = 'inactivity'
			and user_id = any ($1::uuid[]) and evaluation_date = $2::date`, ms, day(d))
	}

	if s := runDay(0); s.Mode != engine.ModeFull || s.ModeReason != "never_reconciled" || s.Evaluated != 15 {
		t.Fatalf("day 0: %s (%s), %d evaluated; want the first full evaluation of 15", s.Mode, s.ModeReason, s.Evaluated)
	}
	if s := runDay(1); s.Mode != engine.ModeIncremental || s.Evaluated >= 15 {
		t.Fatalf("day 1: %s (%s), %d evaluated; want incremental, fewer than 15", s.Mode, s.ModeReason, s.Evaluated)
	}
	b.exec(t, `update scheduler.mentor_state set inactivity_due = '2099-01-01' where user_id = any ($1::uuid[])`, append(soon, later...))

	if s := runDay(2); s.Mode != engine.ModeIncremental || nudged(soon, 2) != 0 {
		t.Fatalf("day 2: %s, %d of the damaged mentors nudged; want incremental and none (the damage is real)", s.Mode, nudged(soon, 2))
	}
	if got := b.queryString(t, `select scheduler.reconcile()`); got == "" {
		t.Fatal("reconcile() said nothing")
	}
	s := runDay(3)
	if s.Mode != engine.ModeFull || s.ModeReason != "requested" || s.StateRepairs != 10 {
		t.Fatalf("day 3: %s (%s), %d repairs; want a full reconciliation on request repairing 10", s.Mode, s.ModeReason, s.StateRepairs)
	}
	if nudged(soon, 3) != 5 {
		t.Fatalf("day 3: %d of the 5 mentors due since day 2 nudged", nudged(soon, 3))
	}
	if s := runDay(9); s.Mode != engine.ModeIncremental || nudged(later, 9) != 5 {
		t.Fatalf("day 9: %s, %d of 5 nudged; want the repaired state to bring them in, incremental", s.Mode, nudged(later, 9))
	}

	// The weekly reconciliation: days 3 to 9 are 6 days; with reconcile_days 7, day 10 reconciles.
	b.exec(t, `update scheduler.mentor_state set inactivity_due = 'infinity' where user_id = any ($1::uuid[])`, soon)
	if s := runDay(10); s.Mode != engine.ModeFull || s.ModeReason != "reconcile_due" || s.StateRepairs != 5 {
		t.Fatalf("day 10: %s (%s), %d repairs; want the weekly reconciliation repairing 5", s.Mode, s.ModeReason, s.StateRepairs)
	}
	if s := runDay(11); s.Mode != engine.ModeIncremental {
		t.Fatalf("day 11: %s (%s); want incremental after the reconciliation", s.Mode, s.ModeReason)
	}
}

// An activity does not move the certification rule: the incremental run evaluates certification expiry for a
// mentor whose certification or status changed, not for one who only registered an activity (at 1M that was
// 41,041 of the day's 134,589 evaluations). Inactivity still evaluates the one with the activity.
func TestActivityChangesSkipTheCertificationRule(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var ms []string
	for range 6 {
		m := b.mentor(t, "active", -100)
		b.activities(t, m, -3)
		b.certification(t, m, "First aid", 200)
		ms = append(ms, m)
	}
	both := engine.Request{Scenarios: []string{engine.Inactivity, engine.CertificationExpiry}}
	runDay := func(d int) (engine.ScenarioReport, engine.ScenarioReport) {
		t.Helper()
		b.setToday(d)
		rep := b.run(t, both)
		if rep.Status != engine.Completed {
			t.Fatalf("day %d: %s", d, rep.Status)
		}
		return scenario(t, rep, engine.Inactivity), scenario(t, rep, engine.CertificationExpiry)
	}
	runDay(0) // the first, full evaluation keeps the state
	if in, ce := runDay(1); in.Mode != engine.ModeIncremental || ce.Mode != engine.ModeIncremental || in.Evaluated != 0 || ce.Evaluated != 0 {
		t.Fatalf("day 1: inactivity %s %d, certification %s %d evaluated; want incremental, nobody due",
			in.Mode, in.Evaluated, ce.Mode, ce.Evaluated)
	}
	b.activities(t, ms[0], 1)                                                                              // an activity: inactivity's
	b.exec(t, `update public.certifications set expires_at = $2::date where user_id = $1`, ms[1], day(20)) // certification's
	b.exec(t, `update public.peer_mentors set joined_on = $2::date where id = $1`, ms[2], day(-90))        // the mentor: both
	in, ce := runDay(2)
	// Inactivity cannot tell a certification's note from the mentor's (neither has dates): it reads all three.
	if in.Evaluated != 3 || ce.Evaluated != 2 {
		t.Fatalf("day 2: inactivity evaluated %d, certification expiry %d; want 3 and 2 (certification expiry: "+
			"the certification and the start date, not the activity)", in.Evaluated, ce.Evaluated)
	}
	if got := b.count(t, `select count(*)::integer from scheduler.mentor_changes`); got != 0 {
		t.Fatalf("%d changes left unread after both scenarios ran", got)
	}
}
