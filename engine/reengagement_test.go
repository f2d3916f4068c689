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

// A backfill of missed days counts the nudges already written for later days of the same spell: after
// downtime until day 30, the backfilled days 0 to 29 add nudges only where they keep the cap and the spacing.
func TestInactivityBackfillKeepsTheCap(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.mentor(t, "active", -100)
	b.activities(t, m, -14)
	b.runInactivity(t, 30, 30) // 44 days inactive: the spell's first nudge written
	for d := 0; d < 30; d++ {
		b.runInactivity(t, 30, d)
	}
	for d := 31; d <= 60; d++ {
		b.runInactivity(t, d, d)
	}
	if diff := cmp.Diff(map[string][]int{m: {0, 14, 30}}, b.nudgeDays(t)); diff != "" {
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
