package engine_test

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/peermentor/scenario-scheduler/engine"
)

// heldOut returns the mentors of the bundle's organisation that the documented hash holds out of scenario at
// percent (docs/operations.md): computed apart from the classification, from scheduler.holdout_bucket.
func (b *testBundle) heldOut(t *testing.T, scenario string, percent int) map[string]bool {
	t.Helper()
	rows, err := b.pool.Query(t.Context(), `select m.id::text from public.peer_mentors m
		where m.organisation_id = $1 and scheduler.holdout_bucket(m.organisation_id, m.id, $2) < $3 * 100`,
		b.org, scenario, percent)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	held := map[string]bool{}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			t.Fatal(err)
		}
		held[m] = true
	}
	return held
}

// schedules returns the distinct schedules of a group (the notifications, or the held-out nudges): per mentor
// and scenario, its nudges as "scenario@day[/rung or level]" in date order, with the mentors sharing each;
// and the group's mentors.
func (b *testBundle) schedules(t *testing.T, table string) (map[string]int, map[string]bool) {
	t.Helper()
	rows, err := b.pool.Query(t.Context(), fmt.Sprintf(`select user_id::text,
		string_agg(scenario || '@' || (evaluation_date - $1::date) || coalesce('/' || coalesce(data ->> 'rung', data ->> 'level'), ''),
		           ' ' order by evaluation_date)
		from %s group by user_id, scenario`, table), day(0))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got, who := map[string]int{}, map[string]bool{}
	for rows.Next() {
		var m, s string
		if err := rows.Scan(&m, &s); err != nil {
			t.Fatal(err)
		}
		got[s]++
		who[m] = true
	}
	return got, who
}

// Held-out mentors are evaluated as the others and recorded, never notified, and their schedule (the
// inactivity repeats and their cap, the cooldown, the milestone level once, the certification rungs in
// order) is the nudged group's: 60 mentors with one history, a 20 % holdout of every scenario, 46 daily runs
// (one of them in three shards, one repeated).
func TestHoldoutScheduleMatchesTheNudgedGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, sc := range []string{engine.Inactivity, engine.Milestone, engine.CertificationExpiry} {
		b.exec(t, `insert into scheduler.scenario_config (scenario, organisation_id, holdout_percent) values ($1, $2, 20)`, sc, b.org)
	}
	var mentors []string
	for range 60 {
		m := b.mentor(t, "active", -200)
		offsets := make([]int, 10)
		for k := range offsets {
			offsets[k] = -14 - 3*k // ten activities, the last 14 days before day 0
		}
		b.activities(t, m, offsets...)
		b.certification(t, m, "Førstehjelp", 30)
		mentors = append(mentors, m)
	}
	var heldTotal int
	for d := 0; d <= 45; d++ {
		b.setToday(d)
		req := engine.Request{EvaluationDate: day(d)}
		if d == 23 {
			// The 7-day rung's day, in shards: the hash does not depend on the walk.
			for k := 1; k <= 3; k++ {
				req.Shard = engine.Shard{No: k, Of: 3}
				heldTotal += b.run(t, req).Totals().HeldOut
			}
			continue
		}
		rep := b.run(t, req)
		heldTotal += rep.Totals().HeldOut
		if d == 14 {
			if again := b.run(t, req); again.Totals().Notified != 0 || again.Totals().HeldOut != 0 {
				t.Errorf("day 14 repeated: %d notified, %d held out; want 0 and 0", again.Totals().Notified, again.Totals().HeldOut)
			}
		}
	}

	nudged, _ := b.schedules(t, "public.notifications")
	held, heldWho := b.schedules(t, "scheduler.held_out_nudges")
	want := []string{
		"certification_expiry@0/30 certification_expiry@23/7 certification_expiry@29/1",
		"inactivity@0 inactivity@14 inactivity@28",
		"milestone@0/10",
	}
	for name, group := range map[string]map[string]int{"nudged": nudged, "held out": held} {
		if diff := cmp.Diff(want, slices.Sorted(maps.Keys(group))); diff != "" {
			t.Errorf("%s group's schedules (-want +got):\n%s", name, diff)
		}
	}
	if n := b.count(t, `select count(*) from scheduler.held_out_nudges`); heldTotal != n {
		t.Errorf("the reports counted %d held out, want the %d held-out nudges recorded", heldTotal, n)
	}
	// Each scenario's holdout is the documented hash's, and no mentor is in both groups of a scenario.
	for _, sc := range []string{engine.Inactivity, engine.Milestone, engine.CertificationExpiry} {
		hash := b.heldOut(t, sc, 20)
		got := map[string]bool{}
		rows, err := b.pool.Query(t.Context(), `select distinct user_id::text from scheduler.held_out_nudges where scenario = $1`, sc)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var m string
			_ = rows.Scan(&m)
			got[m] = true
		}
		rows.Close()
		if diff := cmp.Diff(hash, got); diff != "" {
			t.Errorf("%s: held out (-hash +recorded):\n%s", sc, diff)
		}
		if n := b.count(t, `select count(*) from public.notifications n join scheduler.held_out_nudges h
			on h.user_id = n.user_id and h.scenario = n.scenario where n.scenario = $1`, sc); n != 0 {
			t.Errorf("%s: %d notifications of held-out mentors, want none", sc, n)
		}
	}
	if len(heldWho) == 0 || len(heldWho) == len(mentors) {
		t.Fatalf("%d of %d mentors held out of something: the test needs both groups", len(heldWho), len(mentors))
	}
	// No push: delivery reads the notifications only, and a held-out mentor has none of the held-out scenario.
	b.setToday(45)
	if got := b.queryString(t, `select outcome || ': ' || reason from scheduler.explain($1::uuid, $2::date)
		where scenario = 'inactivity'`, firstHeld(t, b, engine.Inactivity), day(14)); !strings.HasPrefix(got, "held_out: held out (control group, 20 % of the organisation)") {
		t.Errorf("explain of a held-out mentor's day: %s", got)
	}
}

func firstHeld(t *testing.T, b *testBundle, scenario string) string {
	t.Helper()
	return b.queryString(t, `select user_id::text from scheduler.held_out_nudges where scenario = $1 order by user_id limit 1`, scenario)
}

// The holdout obeys its percentage within sampling error on 10,000 mentors (three standard errors), and
// holdout_percent is checked (0 to 20).
func TestHoldoutPercentage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, percent := range []int{1, 5, 10, 20} {
		n := b.count(t, `select count(*) from generate_series(1, 10000) i
			where scheduler.holdout_bucket($1::uuid, md5('holdout-test-' || i)::uuid, 'inactivity') < $2 * 100`, b.org, percent)
		p := float64(percent) / 100
		if sd := math.Sqrt(10000 * p * (1 - p)); math.Abs(float64(n)-10000*p) > 3*sd {
			t.Errorf("%d %%: %d of 10,000 held out, want %.0f ± %.0f", percent, n, 10000*p, 3*sd)
		}
	}
	if _, err := b.pool.Exec(t.Context(), `insert into scheduler.scenario_config (scenario, organisation_id, holdout_percent)
		values ('inactivity', $1, 21)`, b.org); err == nil || !strings.Contains(err.Error(), "scenario_config_holdout_percent") {
		t.Errorf("holdout_percent 21: %v, want the check to refuse it", err)
	}
}
