package engine_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// nudge records a nudge of mentor on day(d) directly: a notification, or a held-out nudge.
func (b *testBundle) nudge(t *testing.T, mentor, scenario string, d int, held bool, data string) {
	t.Helper()
	table := "public.notifications"
	if held {
		table = "scheduler.held_out_nudges"
	}
	b.exec(t, fmt.Sprintf(`insert into %s (user_id, organisation_id, scenario, evaluation_date, idempotency_key, priority, data)
		values ($1::uuid, $2::uuid, $3::text, $4::date, $3::text || ':' || $1::text || ':' || $4::text, 10, $5::jsonb)`, table),
		mentor, b.org, scenario, day(d), data)
}

// Outcomes on a constructed history, as of day 40: each scenario's goal met in time, late, never, and still
// pending, as docs/operations.md defines them.
func TestNudgeOutcomes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := map[string]string{} // mentor -> want "scenario outcome goal_on within_7 within_14"
	add := func(name, scenario string, nudged int, acts []int, want string) string {
		m := b.mentor(t, "active", -100)
		b.activities(t, m, acts...)
		b.nudge(t, m, scenario, nudged, false, `{}`)
		cases[m] = name + ": " + want
		return m
	}
	add("inactivity in 3 days", "inactivity", 0, []int{-14, 3}, "reached 3 true true")
	add("inactivity the same day", "inactivity", 0, []int{-14, 0}, "reached 0 true true")
	add("inactivity in 10 days", "inactivity", 0, []int{-14, 10}, "reached 10 false true")
	add("inactivity late", "inactivity", 0, []int{-14, 20}, "late 20 false false")
	add("inactivity never", "inactivity", 0, []int{-14}, "never - false false")
	add("inactivity pending", "inactivity", 30, []int{-14}, "pending - false false")
	add("inactivity after as_of", "inactivity", 30, []int{-14, 41}, "pending - false false")
	add("milestone momentum", "milestone", 0, []int{0, 5}, "reached 5 true true")
	add("milestone same day only", "milestone", 0, []int{0}, "never - false false")
	// Certifications: renewed (a later expiry of the same one, or a new one of the same name), expired.
	cert := func(name string, expires int, renew func(m, id string), want string) {
		m := b.mentor(t, "active", -100)
		id := b.certification(t, m, "Førstehjelp", expires)
		b.nudge(t, m, "certification_expiry", expires-7, false,
			fmt.Sprintf(`{"certification_id": %q, "certification_name": "Førstehjelp", "expires_at": %q, "rung": 7}`, id, day(expires)))
		if renew != nil {
			renew(m, id)
		}
		cases[m] = name + ": " + want
	}
	cert("renewed, same certification", 20, func(_, id string) {
		b.exec(t, `update public.certifications set expires_at = $2::date where id = $1`, id, day(385))
	}, "reached - true true")
	cert("renewed, a new one of the kind", 20, func(m, _ string) { b.certification(t, m, "Førstehjelp", 380) }, "reached - true true")
	cert("another kind is no renewal", 20, func(m, _ string) { b.certification(t, m, "HLR", 380) }, "never - false false")
	cert("expired", 20, nil, "never - false false")
	cert("not expired yet", 45, nil, "pending - false false")

	rows, err := b.pool.Query(t.Context(), `select user_id::text, outcome || ' ' || coalesce(days_to_goal::text, '-') || ' ' ||
		within_7 || ' ' || within_14 from scheduler.nudge_outcomes($1::date, $2::date, $3::date)`, day(-100), day(100), day(40))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var m, s string
		if err := rows.Scan(&m, &s); err != nil {
			t.Fatal(err)
		}
		name, _, _ := strings.Cut(cases[m], ": ")
		got[m] = name + ": " + s
	}
	rows.Close()
	want := map[string]string{}
	for m, c := range cases {
		want[m] = c
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

// The report's numbers on a small dataset computed by hand: one week, 20 nudged mentors of whom 12 came back
// within 7 days and 15 within 14, and 10 held out of whom 3 within 7 and 4 within 14. Then a week whose
// holdout has 9 mentors (suppressed, with the sentence) and one nudge still pending.
func TestEffectivenessByHand(t *testing.T) {
	t.Parallel()
	b := setup(t)
	group := func(d, n, in7, in14 int, held bool) {
		for i := range n {
			m := b.mentor(t, "active", -100)
			acts := []int{d - 14}
			switch {
			case i < in7:
				acts = append(acts, d+2)
			case i < in14:
				acts = append(acts, d+10)
			}
			b.activities(t, m, acts...)
			b.nudge(t, m, "inactivity", d, held, `{}`)
		}
	}
	group(0, 20, 12, 15, false) // day 0 is a Monday: the week of day(0)
	group(1, 10, 3, 4, true)
	group(7, 20, 12, 15, false)
	group(7, 9, 3, 4, true)
	group(13, 1, 0, 0, false) // pending as of day 21

	type row struct {
		Week                                 string
		Nudged, N7, N14, Held, H7, H14, Pend *int64
		D7, L7, U7, D14, L14, U14            *float64
		Note                                 string
	}
	rows, err := b.pool.Query(t.Context(), `select week::text, nudged, nudged_reached_7, nudged_reached_14, held_out,
		held_out_reached_7, held_out_reached_14, pending, difference_7::float8, lower_7::float8, upper_7::float8,
		difference_14::float8, lower_14::float8, upper_14::float8, note
		from scheduler.effectiveness($1::date, $2::date, $3::date) where scenario = 'inactivity' order by week`,
		day(0), day(13), day(21))
	if err != nil {
		t.Fatal(err)
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.Week, &r.Nudged, &r.N7, &r.N14, &r.Held, &r.H7, &r.H14, &r.Pend, &r.D7, &r.L7, &r.U7,
			&r.D14, &r.L14, &r.U14, &r.Note); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	rows.Close()
	if len(got) != 2 {
		t.Fatalf("%d weeks, want 2: %+v", len(got), got)
	}
	i := func(n int64) *int64 { return &n }
	f := func(x float64) *float64 { return &x }
	// By hand: p1 = 15/20 = 0.75, p2 = 4/10 = 0.40, difference 35.0 points. Wilson 95 %:
	// 15/20: (0.5313, 0.8881); 4/10: (0.1682, 0.6873). Newcombe: 35.0 - sqrt(21.87² + 28.73²) = -1.1,
	// 35.0 + sqrt(13.81² + 23.18²) = 62.0. 7 days: 12/20 = 0.60 (0.3866, 0.7812), 3/10 = 0.30 (0.1078, 0.6032):
	// 30.0, lower 30.0 - sqrt(21.34² + 30.32²) = -7.1, upper 30.0 + sqrt(18.12² + 19.22²) = 56.4.
	want0 := row{Week: day(0), Nudged: i(20), N7: i(12), N14: i(15), Held: i(10), H7: i(3), H14: i(4), Pend: i(0),
		D7: f(30.0), L7: f(-7.1), U7: f(56.4), D14: f(35.0), L14: f(-1.1), U14: f(62.0),
		Note: "too small to tell: the groups' difference is within its 95 % interval of no difference"}
	if diff := cmp.Diff(want0, got[0]); diff != "" {
		t.Errorf("week 1 (-want +got):\n%s", diff)
	}
	want1 := row{Week: day(7), Nudged: i(20), N7: i(12), N14: i(15), Pend: i(1),
		Note: "too few held-out mentors to show (fewer than 10): too small to tell"}
	if diff := cmp.Diff(want1, got[1]); diff != "" {
		t.Errorf("week 2 (-want +got):\n%s", diff)
	}
	// The hand figures above, from the formulas.
	wilson := func(x, n float64) (float64, float64) {
		const z = 1.959964
		p := x / n
		c, h := (p+z*z/(2*n))/(1+z*z/n), z/(1+z*z/n)*math.Sqrt(p*(1-p)/n+z*z/(4*n*n))
		return c - h, c + h
	}
	l1, u1 := wilson(15, 20)
	l2, u2 := wilson(4, 10)
	lo := 100 * (0.35 - math.Sqrt(math.Pow(0.75-l1, 2)+math.Pow(u2-0.40, 2)))
	hi := 100 * (0.35 + math.Sqrt(math.Pow(u1-0.75, 2)+math.Pow(0.40-l2, 2)))
	if math.Round(lo*10)/10 != -1.1 || math.Round(hi*10)/10 != 62.0 {
		t.Errorf("the hand computation gives (%.2f, %.2f)", lo, hi)
	}

	// Retention: held-out nudges age with nudge_history_days.
	b.exec(t, `update scheduler.ops_settings set nudge_history_days = 92`)
	b.exec(t, `update scheduler.held_out_nudges set evaluation_date = evaluation_date - 400 where evaluation_date = $1::date`, day(1))
	if n := b.count(t, `select affected from scheduler.prune($1::date + time '12:00')
		where what = 'held-out nudges deleted'`, day(90)); n != 10 {
		t.Errorf("prune deleted %d held-out nudges, want the 10 older than 92 days (the 9 of day 7 are 83 days old)", n)
	}
}
