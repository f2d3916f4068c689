package engine_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/peermentor/scenario-scheduler/engine"
)

// The re-engagement policy's defaults (the inactivity default row in scheduler.scenario_config).
const (
	inactivityDays  = 14
	repeatEveryDays = 14
	maxRepeats      = 2
	cooldownDays    = 7
)

// nudgeDays returns, per mentor, the evaluation dates (as offsets from day0) of its inactivity notifications.
func (b *testBundle) nudgeDays(t *testing.T) map[string][]int {
	t.Helper()
	got := map[string][]int{}
	rows, err := b.pool.Query(t.Context(), `select user_id::text, evaluation_date - $1::date from public.notifications
		where scenario = 'inactivity' order by evaluation_date`, day(0))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		var d int
		if err := rows.Scan(&m, &d); err != nil {
			t.Fatal(err)
		}
		got[m] = append(got[m], d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// runInactivity evaluates inactivity for day(d) with the clock at today.
func (b *testBundle) runInactivity(t *testing.T, today, d int) {
	t.Helper()
	b.setToday(today)
	if rep := b.run(t, engine.Request{EvaluationDate: day(d), Scenarios: []string{engine.Inactivity}}); rep.Status != engine.Completed {
		t.Fatalf("day %d: %s", d, rep.Status)
	}
}

// An inactive mentor gets a bounded sequence: the first nudge after 14 days, two repeats 14 days apart, then
// nothing until a new activity re-arms it. (Before the policy a nudge repeated every 7-day cooldown forever.)
func TestInactivityRepeatsBoundedPerSpell(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.mentor(t, "active", -100)
	b.activities(t, m, -14, 40) // inactive from day -14; active again on day 40
	for d := 0; d <= 70; d++ {
		b.runInactivity(t, d, d)
	}
	if diff := cmp.Diff(map[string][]int{m: {0, 14, 28, 54, 68}}, b.nudgeDays(t)); diff != "" {
		t.Errorf("nudge days (-want +got):\n%s", diff)
	}

	// The activity that re-armed the policy is deleted: days -14 to 70 are one spell again, which already
	// has more nudges than the cap allows, so none follows.
	b.exec(t, `delete from public.activities where user_id = $1 and activity_date = $2::date`, m, day(40))
	for d := 71; d <= 90; d++ {
		b.runInactivity(t, d, d)
	}
	if n := len(b.nudgeDays(t)[m]); n != 5 {
		t.Errorf("after the re-arming activity was deleted: %d nudges, want still 5", n)
	}
}

// A run for a past date is a backfill: it writes no nudge dated before one the mentor already has. After
// downtime until day 30, whose run nudged the mentor (44 days inactive), the backfilled days 0 to 29 add
// nothing for that mentor; the spell goes on from day 30 (44, then the cap). A mentor without a later nudge
// (active again on day 20) gets the backfilled days' nudges, and a new spell's after it. (Before, the
// backfill wrote days 0 and 14 before day 30's nudge: a spell's first nudge dated weeks before its second.)
func TestInactivityBackfillNeverPrecedesALaterNudge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.mentor(t, "active", -100)
	b.activities(t, m, -14)
	back := b.mentor(t, "active", -100)
	b.activities(t, back, -14, 20)
	b.runInactivity(t, 30, 30)
	for d := range 30 {
		b.runInactivity(t, 30, d)
	}
	for d := 31; d <= 60; d++ {
		b.runInactivity(t, d, d)
	}
	if diff := cmp.Diff(map[string][]int{m: {30, 44, 58}, back: {0, 14, 34, 48}}, b.nudgeDays(t)); diff != "" {
		t.Errorf("nudge days (-want +got):\n%s", diff)
	}
	// explain says why for a backfilled day.
	b.setToday(60)
	if got := b.queryString(t, `select outcome || ': ' || reason from scheduler.explain($1::uuid, $2::date) where scenario = 'inactivity'`,
		m, day(14)); got != fmt.Sprintf("later_nudge: nudged on %s, after this date: a run for an earlier date (a backfill) never writes a nudge before a later one", day(30)) {
		t.Errorf("explain of a backfilled day: %s", got)
	}
}

// A nudge dated on the day of an activity registered after it (the morning's run nudged, the mentor
// registered that day's activity in the afternoon) counts in exactly one spell, the one the activity ends.
// Before, it counted in neither: a backfilled day of the earlier spell landed a week before it and the
// mentor got four nudges in 42 days (0, 14, 21, 35).
func TestInactivitySameDayNudgeCountsInOneSpell(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.mentor(t, "active", -100)
	b.activities(t, m, -14)
	b.runInactivity(t, 0, 0)   // 14 days: the first nudge
	b.runInactivity(t, 21, 21) // after downtime, 35 days: the second
	b.activities(t, m, 21)     // registered after day 21's run
	for d := 1; d < 21; d++ {  // the missed days, backfilled
		b.runInactivity(t, 21, d)
	}
	for d := 22; d <= 80; d++ {
		b.runInactivity(t, d, d)
	}
	got := b.nudgeDays(t)[m]
	if want := []int{0, 21, 35, 49, 63}; !slices.Equal(got, want) {
		t.Errorf("nudge days %v, want %v", got, want)
	}
	checkWindows(t, m, got)
}

// checkWindows fails when more than 1 + max_repeats of a mentor's nudge days fall inside one window of
// repeat_every_days · (1 + max_repeats) days (42 by default): what a volunteer can be sent in six weeks.
func checkWindows(t *testing.T, m string, days []int) {
	t.Helper()
	const window = repeatEveryDays * (1 + maxRepeats)
	for i := range days {
		n := 0
		for _, d := range days[i:] {
			if d < days[i]+window {
				n++
			}
		}
		if n > 1+maxRepeats {
			t.Errorf("mentor %s: %d nudges in the %d days from day %d (%v), want at most %d", m, n, window, days[i], days, 1+maxRepeats)
		}
	}
}

// Random histories with outages of 3 to 20 days, each day's activities registered after that day's run (a
// nudged mentor registers one the same day half the time: the nudge worked), the missed days caught up a
// few days late or at the end in random order: no window of 42 days ever holds more than three nudges of a
// mentor, and no two are closer than the cooldown.
func TestInactivityNoMoreThanTheCapInAnyWindow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rng := rand.New(rand.NewPCG(2, 42)) // before the fix, four nudges in 42 days for one mentor
	const days = 85
	var mentors []string
	acts := map[string][]int{}
	for range 20 {
		j := -rng.IntN(40)
		m := b.mentor(t, "active", j)
		mentors = append(mentors, m)
		for d := 0; d < days; d++ {
			if rng.IntN(40) == 0 {
				acts[m] = append(acts[m], d)
			}
		}
	}
	var missed []int
	down := 0 // days left of an outage
	for d := range days {
		if down == 0 && rng.IntN(12) == 0 {
			down = 3 + rng.IntN(18)
		}
		if down > 0 {
			down--
			missed = append(missed, d)
		} else {
			b.runInactivity(t, d, d)
		}
		nudged := b.nudgeDays(t)
		for _, m := range mentors {
			// A nudge that works: the mentor registers an activity the same day, after the run.
			if slices.Contains(acts[m], d) || slices.Contains(nudged[m], d) && rng.IntN(2) == 0 {
				acts[m] = append(acts[m], d)
				b.activities(t, m, d)
			}
		}
		// Some missed days are caught up a few days late, the rest at the end.
		if len(missed) > 0 && rng.IntN(10) == 0 {
			i := rng.IntN(len(missed))
			b.runInactivity(t, d, missed[i])
			missed = slices.Delete(missed, i, i+1)
		}
	}
	rng.Shuffle(len(missed), func(i, j int) { missed[i], missed[j] = missed[j], missed[i] })
	for _, d := range missed {
		b.runInactivity(t, days, d)
	}
	got := b.nudgeDays(t)
	for m, ns := range got {
		checkWindows(t, m, ns)
		for i := 1; i < len(ns); i++ {
			if ns[i]-ns[i-1] < cooldownDays {
				t.Errorf("mentor %s: nudges %v closer than the %d-day cooldown", m, ns, cooldownDays)
			}
		}
	}
	if t.Failed() {
		t.Logf("activities %v", acts)
	}
}

// max_repeats = 0: one nudge per spell; a new activity starts a spell with one more.
func TestInactivityNoRepeats(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.exec(t, `insert into scheduler.scenario_config (scenario, organisation_id, params)
		values ('inactivity', $1, '{"max_repeats": 0}')`, b.org)
	m := b.mentor(t, "active", -100)
	b.activities(t, m, -14, 30)
	for d := 0; d <= 60; d++ {
		b.runInactivity(t, d, d)
	}
	if diff := cmp.Diff(map[string][]int{m: {0, 44}}, b.nudgeDays(t)); diff != "" {
		t.Errorf("nudge days (-want +got):\n%s", diff)
	}
}

// The source has no history of status: a backfill evaluates the mentor's status as it is now. A mentor
// paused since is not nudged for a day they were active on; one active now is, though paused then.
func TestInactivityBackfillUsesTheCurrentStatus(t *testing.T) {
	t.Parallel()
	b := setup(t)
	paused := b.mentor(t, "active", -100)
	b.activities(t, paused, -14)
	b.exec(t, `update public.peer_mentors set status = 'paused' where id = $1`, paused)
	back := b.mentor(t, "paused", -100)
	b.activities(t, back, -14)
	b.exec(t, `update public.peer_mentors set status = 'active' where id = $1`, back)
	b.runInactivity(t, 10, 0)
	if diff := cmp.Diff(map[string][]int{back: {0}}, b.nudgeDays(t)); diff != "" {
		t.Errorf("nudge days (-want +got):\n%s", diff)
	}
}

// An organisation's own policy: one repeat 7 days after the first nudge.
func TestInactivityPolicyPerOrganisation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.exec(t, `insert into scheduler.scenario_config (scenario, organisation_id, params)
		values ('inactivity', $1, '{"repeat_every_days": 7, "max_repeats": 1}')`, b.org)
	m := b.mentor(t, "active", -100)
	b.activities(t, m, -14)
	for d := 0; d <= 30; d++ {
		b.runInactivity(t, d, d)
	}
	if diff := cmp.Diff(map[string][]int{m: {0, 7}}, b.nudgeDays(t)); diff != "" {
		t.Errorf("nudge days (-want +got):\n%s", diff)
	}
	// Bad parameters are refused when written, with nothing changed.
	for _, params := range []string{`{"max_repeats": -1}`, `{"repeat_every_days": 0}`, `{"max_repeats": "2"}`, `{"inactivity_days": 1.5}`} {
		_, err := b.pool.Exec(t.Context(), `update scheduler.scenario_config set params = $2::jsonb
			where scenario = 'inactivity' and organisation_id = $1`, b.org, params)
		if err == nil {
			t.Errorf("params %s were accepted", params)
		}
	}
}

// The policy against a model of it, over random activity histories: first in date order with days of
// downtime (the exact sequence the model predicts), then with the missed days backfilled latest first,
// after which every inactive spell still has at most 1 + max_repeats nudges, repeat_every_days apart, each
// on a day at least inactivity_days into the spell.
func TestInactivityPolicyAgainstModel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rng := rand.New(rand.NewPCG(13, 5))
	const days = 85 // backfill reaches at most engine.MaxPastDays (90) back
	acts := map[string][]int{}
	joined := map[string]int{}
	for range 12 {
		j := -rng.IntN(60)
		m := b.mentor(t, "active", j)
		joined[m] = j
		for d := j; d < days; d++ {
			if rng.IntN(40) == 0 {
				acts[m] = append(acts[m], d)
			}
		}
		b.activities(t, m, acts[m]...)
	}
	var evaluated, missed []int
	for d := range days {
		if rng.IntN(6) == 0 {
			missed = append(missed, d)
			continue
		}
		evaluated = append(evaluated, d)
		b.runInactivity(t, d, d)
	}

	// spellStart is the start of the spell day d belongs to: the last activity on or before d, or joined_on.
	spellStart := func(m string, d int) int {
		s := joined[m]
		for _, a := range acts[m] {
			if a <= d {
				s = a
			}
		}
		return s
	}
	want := map[string][]int{}
	for _, d := range evaluated {
		for m := range joined {
			s := spellStart(m, d)
			var spell []int
			for _, n := range want[m] {
				if n > s {
					spell = append(spell, n)
				}
			}
			if d-s >= inactivityDays && len(spell) <= maxRepeats &&
				(len(spell) == 0 || d-spell[len(spell)-1] >= max(repeatEveryDays, cooldownDays)) {
				want[m] = append(want[m], d)
			}
		}
	}
	if diff := cmp.Diff(want, b.nudgeDays(t)); diff != "" {
		t.Fatalf("in date order: nudge days (-want +got):\n%s", diff)
	}

	// Backfill, latest missed day first.
	slices.Reverse(missed)
	for _, d := range missed {
		b.runInactivity(t, days, d)
	}
	got := b.nudgeDays(t)
	for m, ns := range got {
		spells := map[int][]int{}
		for _, n := range ns {
			s := spellStart(m, n)
			if n-s < inactivityDays {
				t.Errorf("mentor %s nudged on day %d, %d days into its spell", m, n, n-s)
			}
			spells[s] = append(spells[s], n)
		}
		for s, sp := range spells {
			slices.Sort(sp)
			if len(sp) > 1+maxRepeats {
				t.Errorf("mentor %s: spell from day %d has %d nudges %v, want at most %d", m, s, len(sp), sp, 1+maxRepeats)
			}
			for i := 1; i < len(sp); i++ {
				if sp[i]-sp[i-1] < repeatEveryDays {
					t.Errorf("mentor %s: spell from day %d has nudges %v closer than %d days", m, s, sp, repeatEveryDays)
				}
			}
		}
	}
	if t.Failed() {
		t.Logf("activities %v, missed days %v", fmt.Sprint(acts), missed)
	}
}

// Backfilling a day missed before the 7- and 1-day rungs were sent does not send the 30-day rung after them.
func TestCertificationRungsNeverWidenOnBackfill(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.mentor(t, "active", -400)
	b.activities(t, m, 0, 10)
	b.certification(t, m, "Førstehjelp", 20)
	run := func(today, d int) {
		b.setToday(today)
		b.run(t, engine.Request{EvaluationDate: day(d), Scenarios: []string{engine.CertificationExpiry}})
	}
	run(15, 15) // 5 days left: rung 7
	run(19, 19) // 1 day left: rung 1
	run(19, 0)  // backfill: 20 days left, rung 30, but narrower rungs were sent
	run(19, 14) // backfill: 6 days left, rung 7 again: a duplicate
	got := b.queryString(t, `select string_agg((data ->> 'rung') || '@' || (evaluation_date - $1::date), ' ' order by id)
		from public.notifications`, day(0))
	if got != "7@15 1@19" {
		t.Errorf("rungs sent (rung@day, in order) = %q, want \"7@15 1@19\"", got)
	}
}
