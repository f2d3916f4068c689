package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/peermentor/scenario-scheduler/engine"
)

// ignoreTiming leaves out what varies between runs, and the mode (incremental_test.go checks it).
var ignoreTiming = cmpopts.IgnoreFields(engine.ScenarioReport{}, "DurationMS", "Batches", "Message", "Mode", "ModeReason")

func TestInactivityEdges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exactly := b.mentor(t, "active", -100)
	b.activities(t, exactly, -30, -14) // last activity exactly 14 days ago: fires
	short := b.mentor(t, "active", -100)
	b.activities(t, short, -13)           // 13 days: does not
	never := b.mentor(t, "active", -20)   // never active, joined 20 days ago: fires
	b.mentor(t, "active", -5)             // never active, joined 5 days ago: does not
	paused := b.mentor(t, "paused", -100) // paused mentors are never evaluated
	b.activities(t, paused, -60)
	future := b.mentor(t, "active", -100)
	b.activities(t, future, -20, 3) // an activity after the evaluation date does not count

	rep := b.run(t, engine.Request{EvaluationDate: day(0), Scenarios: []string{engine.Inactivity}})

	want := engine.ScenarioReport{Scenario: engine.Inactivity, Status: engine.Completed, Evaluated: 5, Notified: 3,
		TotalEvaluated: 5, TotalNotified: 3}
	if diff := cmp.Diff(want, scenario(t, rep, engine.Inactivity), ignoreTiming); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	key := func(m string) string { return fmt.Sprintf("inactivity:%s:%s", m, day(0)) }
	wantN := []notification{
		{exactly, engine.Inactivity, day(0), key(exactly), fmt.Sprintf(`{"days_inactive": 14, "inactivity_days": 14, "last_activity_date": "%s"}`, day(-14))},
		{never, engine.Inactivity, day(0), key(never), `{"days_inactive": 20, "inactivity_days": 14, "last_activity_date": null}`},
		{future, engine.Inactivity, day(0), key(future), fmt.Sprintf(`{"days_inactive": 20, "inactivity_days": 14, "last_activity_date": "%s"}`, day(-20))},
	}
	if diff := cmp.Diff(wantN, b.notifications(t), cmpopts.SortSlices(func(a, b notification) bool { return a.Key < b.Key })); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}

func TestMilestoneLevelsCrossedAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.mentor(t, "active", -400)
	offsets := make([]int, 27)
	for i := range offsets {
		offsets[i] = -i
	}
	b.activities(t, m, offsets...) // 27 activities: levels 10 and 25 reached at once

	b.run(t, engine.Request{Scenarios: []string{engine.Milestone}})
	got := b.notifications(t)
	want := []notification{{m, engine.Milestone, day(0), "milestone:" + m + ":25",
		`{"level": 25, "activity_count": 27, "levels_reached": [10, 25]}`}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("first run (-want +got):\n%s", diff)
	}

	// The next days: level 10 is never sent after 25.
	b.setToday(1)
	if rep := b.run(t, engine.Request{Scenarios: []string{engine.Milestone}}); scenario(t, rep, engine.Milestone).Notified != 0 {
		t.Errorf("day 1 notified a milestone again: %+v", rep)
	}
	// 23 more activities reach 50.
	more := make([]int, 23)
	for i := range more {
		more[i] = 1
	}
	b.activities(t, m, more...)
	b.setToday(2)
	b.run(t, engine.Request{Scenarios: []string{engine.Milestone}})
	if n := len(b.notifications(t)); n != 2 {
		t.Fatalf("after reaching 50: %d notifications, want 2", n)
	}
	if got := b.queryString(t, `select data->>'level' from public.notifications where evaluation_date = $1::date`, day(2)); got != "50" {
		t.Errorf("day 2 level = %s, want 50", got)
	}
}

func TestCertificationRungsAfterDowntime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.mentor(t, "active", -400)
	b.activities(t, m, 0) // active, so only the certification scenario speaks
	cert := b.certification(t, m, "Førstehjelp", 20)
	b.certification(t, m, "Expired", -1)
	b.certification(t, m, "Far off", 60) // more than 30 days left on every day below

	run := func(today int) {
		b.setToday(today)
		b.run(t, engine.Request{Scenarios: []string{engine.CertificationExpiry}})
	}
	run(0)  // 20 days left: rung 30
	run(1)  // 19 days left: rung 30 again, a duplicate
	run(15) // downtime until 5 days left: rung 7 only
	run(19) // 1 day left: rung 1
	run(20) // expires today: still rung 1, a duplicate

	key := func(rung int) string {
		return fmt.Sprintf("certification_expiry:%s:%s:%s:%d", m, cert, day(20), rung)
	}
	data := func(left, rung int) string {
		return fmt.Sprintf(`{"rung": %d, "days_left": %d, "expires_at": "%s", "certification_id": "%s", "certification_name": "Førstehjelp"}`,
			rung, left, day(20), cert)
	}
	want := []notification{
		{m, engine.CertificationExpiry, day(19), key(1), data(1, 1)},
		{m, engine.CertificationExpiry, day(0), key(30), data(20, 30)},
		{m, engine.CertificationExpiry, day(15), key(7), data(5, 7)},
	}
	if diff := cmp.Diff(want, b.notifications(t), cmpopts.SortSlices(func(a, b notification) bool { return a.Key < b.Key })); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}

	// A renewed certification starts its rungs again.
	b.exec(t, `update public.certifications set expires_at = $2::date where id = $1`, cert, day(40))
	run(21)
	if got := b.count(t, `select count(*) from public.notifications where evaluation_date = $1::date`, day(21)); got != 1 {
		t.Errorf("renewed certification: %d notifications on day 21, want 1 (rung 30)", got)
	}
}

func TestOrganisationOverrideDisablesScenario(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inactive := b.mentor(t, "active", -100)
	b.exec(t, `insert into scheduler.scenario_config (scenario, organisation_id, enabled) values ('inactivity', $1, false)`, b.org)
	other := b.queryString(t, `insert into public.organisations (name) values ('Annen forening') returning id::text`)
	b.exec(t, `insert into scheduler.scenario_config (scenario, organisation_id, params) values ('inactivity', $1, '{"inactivity_days": 30}')`, other)
	m30 := b.queryString(t, `insert into public.peer_mentors (organisation_id, full_name, joined_on) values ($1, 'X', $2::date) returning id::text`, other, day(-29))
	m31 := b.queryString(t, `insert into public.peer_mentors (organisation_id, full_name, joined_on) values ($1, 'Y', $2::date) returning id::text`, other, day(-30))

	rep := b.run(t, engine.Request{Scenarios: []string{engine.Inactivity}})
	got := map[string]bool{}
	for _, n := range b.notifications(t) {
		got[n.Mentor] = true
	}
	if diff := cmp.Diff(map[string]bool{m31: true}, got); diff != "" {
		t.Errorf("notified mentors (-want +got):\n%s\n(disabled org: %s, 29 days: %s)", diff, inactive, m30)
	}
	// Evaluated counts the mentors the scenario is enabled for: the other organisation's two, not the
	// disabled organisation's one.
	if sr := scenario(t, rep, engine.Inactivity); sr.Evaluated != 2 || sr.TotalEvaluated != 2 {
		t.Errorf("evaluated %d (total %d), want 2: mentors of an organisation with the scenario off are not evaluated", sr.Evaluated, sr.TotalEvaluated)
	}
	var stats int
	if err := b.pool.QueryRow(context.Background(), `select last_evaluated_count from scheduler.scenario_config
		where scenario = 'inactivity' and organisation_id is null`).Scan(&stats); err != nil || stats != 2 {
		t.Errorf("last_evaluated_count %d (%v), want 2", stats, err)
	}
}

// Documented rules (docs/source-contract.md, README's rules table): an activity dated before joined_on still
// counts (for inactivity it is the last activity, not joined_on; for milestones it is counted).
func TestActivityBeforeJoiningCounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.mentor(t, "active", -5)                                       // joined five days ago
	b.activities(t, m, -29, -28, -27, -26, -25, -24, -23, -22, -21, -20) // ten activities, all before joining

	b.run(t, engine.Request{EvaluationDate: day(0), Scenarios: []string{engine.Inactivity, engine.Milestone}})
	want := []notification{
		{m, engine.Inactivity, day(0), fmt.Sprintf("inactivity:%s:%s", m, day(0)),
			fmt.Sprintf(`{"days_inactive": 20, "inactivity_days": 14, "last_activity_date": "%s"}`, day(-20))},
		{m, engine.Milestone, day(0), fmt.Sprintf("milestone:%s:10", m), `{"level": 10, "activity_count": 10, "levels_reached": [10]}`},
	}
	if diff := cmp.Diff(want, b.notifications(t)); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}

// Documented rule: a certification expiring on the evaluation date fires the 1-day rung (0 days left).
func TestCertificationExpiringTodayFiresTheLastRung(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.mentor(t, "active", -400)
	b.activities(t, m, 0)
	cert := b.certification(t, m, "Førstehjelp", 0)

	b.run(t, engine.Request{EvaluationDate: day(0), Scenarios: []string{engine.CertificationExpiry}})
	want := []notification{{m, engine.CertificationExpiry, day(0), fmt.Sprintf("certification_expiry:%s:%s:%s:1", m, cert, day(0)),
		fmt.Sprintf(`{"rung": 1, "days_left": 0, "expires_at": "%s", "certification_id": "%s", "certification_name": "Førstehjelp"}`, day(0), cert)}}
	if diff := cmp.Diff(want, b.notifications(t)); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}

func TestInactivityCooldown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The re-engagement policy's spacing (14 days by default) would keep these days from being candidates at
	// all; with a spacing of one day and room for repeats, the database's 7-day cooldown is what spaces them.
	b.exec(t, `insert into scheduler.scenario_config (scenario, organisation_id, params)
		values ('inactivity', $1, '{"repeat_every_days": 1, "max_repeats": 10}')`, b.org)
	m := b.mentor(t, "active", -100)
	b.activities(t, m, -20)

	got := map[int]engine.ScenarioReport{}
	for _, d := range []int{0, 1, 6, 7, 8, 14} {
		b.setToday(d)
		got[d] = scenario(t, b.run(t, engine.Request{Scenarios: []string{engine.Inactivity}}), engine.Inactivity)
	}
	// Notified on day 0; inside its 7-day cooldown on days 1 and 6; again on day 7 (exactly one cooldown
	// later), which opens a new cooldown covering day 8; and again on day 14.
	want := map[int][2]int{0: {1, 0}, 1: {0, 1}, 6: {0, 1}, 7: {1, 0}, 8: {0, 1}, 14: {1, 0}}
	for d, w := range want {
		if g := [2]int{got[d].Notified, got[d].SuppressedCooldown}; g != w {
			t.Errorf("day %d: notified, suppressed by cooldown = %v, want %v", d, g, w)
		}
	}
	if n := len(b.notifications(t)); n != 3 {
		t.Errorf("%d notifications, want 3 (days 0, 7, 14)", n)
	}
}

// Activities dated after the evaluation date are ignored, so for a mentor whose only activity is dated
// after it joined_on starts the inactivity clock, as for a mentor without any activity; the activity closes
// the spell when its day comes.
func TestInactivityOnlyLaterActivityJoinedOnStartsTheClock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.mentor(t, "active", -20)
	b.activities(t, m, 3)
	rep := b.run(t, engine.Request{EvaluationDate: day(0), Scenarios: []string{engine.Inactivity}})
	if got := scenario(t, rep, engine.Inactivity).Notified; got != 1 {
		t.Errorf("notified %d, want 1", got)
	}
	want := []notification{{m, engine.Inactivity, day(0), fmt.Sprintf("inactivity:%s:%s", m, day(0)),
		`{"days_inactive": 20, "inactivity_days": 14, "last_activity_date": null}`}}
	if diff := cmp.Diff(want, b.notifications(t)); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}
