package explain_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/explain"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// demo is a database with the demo seed and an engine over it on the real clock.
func demo(t *testing.T) (*pgxpool.Pool, *engine.Engine) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = postgres.ApplySQL(ctx, conn.Conn(), supabase.Seed)
	conn.Release()
	if err != nil {
		t.Fatalf("seeding: %v", err)
	}
	return pool, engine.New(postgres.NewFromPool(pool), engine.Options{})
}

// firing is the notifications explain says the scenarios wrote or would write, as "mentor scenario key".
func firing(t *testing.T, pool *pgxpool.Pool, mentors []string, date time.Time, outcome string) (map[string]bool, map[string]int) {
	t.Helper()
	got, outcomes := map[string]bool{}, map[string]int{}
	for _, m := range mentors {
		r, err := explain.Read(context.Background(), pool, m, date)
		if err != nil {
			t.Fatalf("explain %s %s: %v", m, date.Format(time.DateOnly), err)
		}
		if len(r.Answers) != len(engine.Scenarios) {
			t.Fatalf("explain %s: %d answers, want one per scenario: %+v", m, len(r.Answers), r.Answers)
		}
		for _, a := range r.Answers {
			outcomes[a.Scenario+" "+a.Outcome]++
			if a.Reason == "" {
				t.Errorf("explain %s %s: outcome %s without a reason", m, a.Scenario, a.Outcome)
			}
			if a.Fires() != (len(a.Notifications) > 0) || a.Fires() != (a.Push != "") {
				t.Errorf("explain %s %s: outcome %s with %d notifications and push %q", m, a.Scenario, a.Outcome, len(a.Notifications), a.Push)
			}
			if !a.Fires() {
				continue
			}
			if a.Outcome != outcome {
				t.Errorf("explain %s %s: outcome %s, want %s or a reason not to fire", m, a.Scenario, a.Outcome, outcome)
			}
			for _, n := range a.Notifications {
				got[m+" "+a.Scenario+" "+n.IdempotencyKey] = true
			}
		}
	}
	return got, outcomes
}

// For every mentor of the demo data and every scenario, explain agrees with what a real run writes: before
// the run it says would_fire for exactly the notifications the run then writes (keys included), after it
// notified for exactly those. Two dates: a week ago (a backfill, first) and today, whose inactivity and
// certification rules then meet the week-old notifications (spacing, rungs already sent).
func TestExplainAgreesWithRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, eng := demo(t)
	rows, err := pool.Query(ctx, `select id::text from public.peer_mentors order by id`)
	if err != nil {
		t.Fatal(err)
	}
	mentors, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	today, err := explain.Today(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, date := range []time.Time{today.AddDate(0, 0, -7), today} {
		ds := date.Format(time.DateOnly)
		predicted, before := firing(t, pool, mentors, date, "would_fire")
		rep, err := eng.Run(ctx, engine.Request{EvaluationDate: ds})
		if err != nil || rep.Status != engine.Completed {
			t.Fatalf("run %s: %s, %v", ds, rep.Status, err)
		}
		rows, err := pool.Query(ctx, `select user_id::text || ' ' || scenario || ' ' || idempotency_key
			from public.notifications where evaluation_date = $1::date`, ds)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		written := map[string]bool{}
		for _, k := range keys {
			written[k] = true
		}
		if len(written) == 0 {
			t.Fatalf("%s: the run wrote nothing", ds)
		}
		if diff := cmp.Diff(written, predicted); diff != "" {
			t.Errorf("%s: written by the run (-) vs would_fire before it (+):\n%s", ds, diff)
		}
		after, outcomes := firing(t, pool, mentors, date, "notified")
		if diff := cmp.Diff(written, after); diff != "" {
			t.Errorf("%s: written by the run (-) vs notified after it (+):\n%s", ds, diff)
		}
		t.Logf("%s: before the run %v", ds, before)
		t.Logf("%s: after the run %v", ds, outcomes)
		maps.Copy(seen, before)
	}
	// The demo data reaches most reasons; each of these must have been explained at least once.
	for _, o := range []string{
		"inactivity not_active", "inactivity below_threshold", "inactivity spacing", "inactivity would_fire",
		"milestone below_threshold", "milestone already_sent", "milestone would_fire",
		"certification_expiry no_certification", "certification_expiry beyond_rungs",
		"certification_expiry already_sent", "certification_expiry would_fire",
	} {
		if seen[o] == 0 {
			t.Errorf("no mentor was explained as %q: %v", o, slices.Sorted(maps.Keys(seen)))
		}
	}
}

// The words of each reason, for a mentor built to hit it, and the rendering.
func TestExplainReasons(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, eng := demo(t)
	today, err := explain.Today(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	d := func(offset int) string { return today.AddDate(0, 0, offset).Format(time.DateOnly) }
	exec := func(sql string, args ...any) string {
		t.Helper()
		var s string
		if err := pool.QueryRow(ctx, sql, args...).Scan(&s); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return s
	}
	org := exec(`insert into public.organisations (name) values ('Forklaringslaget') returning id::text`)
	kari := exec(`insert into public.peer_mentors (organisation_id, full_name, joined_on) values ($1, 'Kari Forklaring', $2::date)
		returning id::text`, org, d(-100))
	exec(`insert into public.activities (user_id, activity_date) values ($1, $2::date) returning ''`, kari, d(-12))
	exec(`insert into public.certifications (user_id, name, expires_at) values ($1, 'HLR', $2::date) returning ''`, kari, d(3))

	answers := func(date string) map[string]explain.Answer {
		t.Helper()
		dt, _ := time.Parse(time.DateOnly, date)
		r, err := explain.Read(ctx, pool, kari, dt)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]explain.Answer{}
		for _, a := range r.Answers {
			out[a.Scenario] = a
		}
		return out
	}
	a := answers(d(0))
	if got := a[engine.Inactivity]; got.Outcome != "below_threshold" || !strings.HasPrefix(got.Reason, "12 of 14 days without activity") {
		t.Errorf("inactivity: %+v, want below_threshold, 12 of 14 days", got)
	}
	if got := a[engine.Milestone]; got.Outcome != "below_threshold" || !strings.HasPrefix(got.Reason, "1 of 10 activities") {
		t.Errorf("milestone: %+v, want below_threshold, 1 of 10 activities", got)
	}
	if got := a[engine.CertificationExpiry]; got.Outcome != "would_fire" || got.Push != "no device: in-app only" ||
		got.Notifications[0].Data["rung"] != float64(7) {
		t.Errorf("certification: %+v, want would_fire rung 7 without a device", got)
	}

	// Two days later, after the 7-day rung was sent: rung 7 again, already sent.
	if rep, err := eng.Run(ctx, engine.Request{EvaluationDate: d(0)}); err != nil || rep.Status != engine.Completed {
		t.Fatalf("run: %s %v", rep.Status, err)
	}
	if got := answers(d(0))[engine.CertificationExpiry]; got.Outcome != "notified" || !strings.Contains(got.Push, "push pending") {
		t.Errorf("certification after the run: %+v, want notified, push pending", got)
	}
	if got := answers(d(1))[engine.CertificationExpiry]; got.Outcome != "already_sent" ||
		!strings.Contains(got.Reason, "rung 7 already sent on "+d(0)) {
		t.Errorf("certification the next day: %+v, want already_sent on %s", got, d(0))
	}

	// Switched off for the organisation; a paused mentor.
	exec(`insert into scheduler.scenario_config (scenario, organisation_id, enabled) values ('milestone', $1, false) returning ''`, org)
	if got := answers(d(0))[engine.Milestone]; got.Outcome != "disabled" {
		t.Errorf("milestone switched off: %+v", got)
	}
	exec(`update public.peer_mentors set status = 'paused' where id = $1 returning ''`, kari)
	for s, got := range answers(d(0)) {
		if got.Outcome != "not_active" || got.Reason != "the mentor is paused: only active mentors are evaluated" {
			t.Errorf("%s for a paused mentor: %+v", s, got)
		}
	}

	// By name, rendered.
	id, err := explain.Resolve(ctx, pool, "kari forkl")
	if err != nil || id != kari {
		t.Fatalf("Resolve by name = %q, %v; want %s", id, err, kari)
	}
	dt, _ := time.Parse(time.DateOnly, d(0))
	r, err := explain.Read(ctx, pool, id, dt)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := r.Render(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Mentor " + kari + " on " + d(0), "inactivity", "no: not active", "the mentor is paused"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("rendered answer lacks %q:\n%s", want, out.String())
		}
	}
}

// Bad input: clear errors, nothing written.
func TestExplainBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := demo(t)
	today, err := explain.Today(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := explain.Read(ctx, pool, "00000000-0000-0000-0000-000000000001", today); err == nil ||
		!strings.Contains(err.Error(), "explain: no peer mentor 00000000-0000-0000-0000-000000000001") {
		t.Errorf("unknown mentor: %v", err)
	}
	if _, err := explain.Resolve(ctx, pool, "Ingrid"); err == nil || !strings.Contains(err.Error(), "matches several mentors") {
		t.Errorf("ambiguous name: %v", err)
	}
	if _, err := explain.Resolve(ctx, pool, "Nobody By This Name"); err == nil || !strings.Contains(err.Error(), "no mentor's name contains") {
		t.Errorf("unknown name: %v", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `select count(*) from public.notifications`).Scan(&n); err != nil || n != 0 {
		t.Errorf("explain wrote %d notifications (%v)", n, err)
	}
}
