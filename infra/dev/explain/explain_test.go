package explain_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/peermentor/scenario-scheduler/adapters/fcm"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/dev/explain"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// demo is a database with the demo seed and an engine over it on the real clock, delivering pushes through
// the log sender (the quick start's: it sends nothing).
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
	return pool, engine.New(postgres.NewFromPool(pool), engine.Options{Sender: fcm.NewLogSender(nil)})
}

// firing is the notifications explain says the scenarios wrote or would write, as "mentor scenario key", each
// with its push, and the number of answers per "scenario outcome".
func firing(t *testing.T, pool *pgxpool.Pool, mentors []string, date time.Time, outcome string) (map[string]string, map[string]int) {
	t.Helper()
	got, outcomes := map[string]string{}, map[string]int{}
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
				if n.Push == "" {
					t.Errorf("explain %s %s: notification %s without its push", m, a.Scenario, n.IdempotencyKey)
				}
				got[m+" "+a.Scenario+" "+n.IdempotencyKey] = n.Push
			}
		}
	}
	return got, outcomes
}

func keysOf(m map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// For every mentor of the demo data and every scenario, explain agrees with what a real run writes: before
// the run it says would_fire for exactly the notifications the run then writes (keys included), after it
// notified for exactly those, and the push it predicted is what the run's delivery did. Two dates: a week ago (a backfill, first) and today, whose inactivity and
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
		// What the run wrote, and what its delivery did with each push, in the words of explain's prediction.
		rows, err := pool.Query(ctx, `select user_id::text || ' ' || scenario || ' ' || idempotency_key,
			case when status = 'sent' then 'push to'
			     when suppressed_reason = 'no_device' then 'no device'
			     when suppressed_reason = 'expired' then 'older than'
			     when suppressed_reason = 'daily_cap' then 'daily cap'
			     when status = 'pending' and available_at > now() then 'quiet hours'
			     else status || ' ' || coalesce(suppressed_reason, '') end
			from public.notifications where evaluation_date = $1::date`, ds)
		if err != nil {
			t.Fatal(err)
		}
		type row struct{ Key, Push string }
		wrote, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		if err != nil {
			t.Fatal(err)
		}
		written, pushed := map[string]bool{}, map[string]string{}
		for _, w := range wrote {
			written[w.Key] = true
			pushed[w.Key] = w.Push
		}
		if len(written) == 0 {
			t.Fatalf("%s: the run wrote nothing", ds)
		}
		if diff := cmp.Diff(written, keysOf(predicted)); diff != "" {
			t.Errorf("%s: written by the run (-) vs would_fire before it (+):\n%s", ds, diff)
		}
		// The push explain predicted is what delivery then did (sent, no device, too old, daily cap, held).
		pushes := map[string]int{}
		for k, p := range predicted {
			if got := pushed[k]; got != "" && !strings.HasPrefix(p, got) {
				t.Errorf("%s: %s: explain predicted push %q, delivery: %s", ds, k, p, got)
			}
			pushes[pushed[k]]++
		}
		t.Logf("%s: pushes %v", ds, pushes)
		after, outcomes := firing(t, pool, mentors, date, "notified")
		if diff := cmp.Diff(written, keysOf(after)); diff != "" {
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

	// Quiet hours for the organisation, now: a mentor with a device gets the push held, as predicted.
	ola := exec(`insert into public.peer_mentors (organisation_id, full_name, joined_on) values ($1, 'Ola Forklaring', $2::date)
		returning id::text`, org, d(-20))
	exec(`insert into public.device_tokens (user_id, token, platform) values ($1, 'tok-ola', 'android') returning ''`, ola)
	exec(`insert into scheduler.delivery_config (organisation_id, quiet_start, quiet_end)
		select $1, (l - interval '1 hour')::time, (l + interval '1 hour')::time
		from (select now() at time zone 'Europe/Oslo' as l) x returning ''`, org)
	quietEnd := exec(`select to_char(quiet_end, 'HH24:MI') from scheduler.delivery_config where organisation_id = $1`, org)
	dt0, _ := time.Parse(time.DateOnly, d(0))
	r0, err := explain.Read(ctx, pool, ola, dt0)
	if err != nil {
		t.Fatal(err)
	}
	if got := r0.Answers[2]; got.Scenario != engine.Inactivity || got.Outcome != "would_fire" || got.Push != "quiet hours: held until "+quietEnd ||
		!strings.HasPrefix(got.Reason, "20 days without activity (threshold 14): nudge 1 of at most 3") {
		t.Errorf("inactivity in quiet hours: %+v, want would_fire, held until %s", got, quietEnd)
	}

	// The daily cap between two notifications of one priority: the nearer expiry wins it, as in delivery.
	dayOrg := exec(`insert into public.organisations (name) values ('Dagslaget') returning id::text`)
	exec(`insert into scheduler.delivery_config (organisation_id, quiet_start, quiet_end) values ($1, '00:00', '00:00') returning ''`, dayOrg)
	per := exec(`insert into public.peer_mentors (organisation_id, full_name, joined_on) values ($1, 'Per Forklaring', $2::date)
		returning id::text`, dayOrg, d(-5))
	exec(`insert into public.device_tokens (user_id, token, platform) values ($1, 'tok-per', 'ios') returning ''`, per)
	exec(`insert into public.certifications (user_id, name, expires_at) values ($1, 'Nærmest', $2::date), ($1, 'Fjernest', $3::date)
		returning ''`, per, d(2), d(5))
	perPush := func(want ...string) {
		t.Helper()
		r, err := explain.Read(ctx, pool, per, dt0)
		if err != nil {
			t.Fatal(err)
		}
		got := r.Answers[0]
		for _, w := range want {
			if !strings.Contains(got.Push, w) {
				t.Errorf("certification push %q lacks %q (%+v)", got.Push, w, got)
			}
		}
	}
	perPush("push to 1 device(s)", "daily cap: 1 push(es) a day")

	// The run, and the next day after the 7-day rung was sent: rung 7 again, already sent.
	if rep, err := eng.Run(ctx, engine.Request{EvaluationDate: d(0)}); err != nil || rep.Status != engine.Completed {
		t.Fatalf("run: %s %v", rep.Status, err)
	}
	perPush("push sent at", "no push (daily cap)")
	if n := exec(`select string_agg(data ->> 'certification_name' || ' ' || status, ', ' order by data ->> 'certification_name')
		from public.notifications where user_id = $1`, per); n != "Fjernest suppressed, Nærmest sent" {
		t.Errorf("delivered: %s, want the nearer expiry sent", n)
	}
	if r0, err = explain.Read(ctx, pool, ola, dt0); err != nil {
		t.Fatal(err)
	}
	if got := r0.Answers[2]; got.Outcome != "notified" || !strings.HasPrefix(got.Push, "push pending: held (quiet hours or a retry) until") {
		t.Errorf("inactivity in quiet hours after the run: %+v, want notified, held", got)
	}
	if got := answers(d(0))[engine.CertificationExpiry]; got.Outcome != "notified" || got.Push != "no push (no device): in-app only" {
		t.Errorf("certification after the run: %+v, want notified, no push (no device)", got)
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

// Without a date, a mentor is explained for today in their organisation's time zone (Tokyo's today while it
// is already tomorrow there), and in the scheduler's when the zone is unknown.
func TestExplainMentorToday(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := demo(t)
	zones := []string{"Asia/Tokyo", "America/New_York", "Pacific/Kiritimati", "Mars/Olympus"}
	for _, zone := range zones {
		var mentor string
		if err := pool.QueryRow(ctx, `with o as (insert into public.organisations (name, timezone) values ($1, $1) returning id)
			insert into public.peer_mentors (organisation_id, full_name) select id, 'Mentor in ' || $1 from o returning id::text`,
			zone).Scan(&mentor); err != nil {
			t.Fatal(err)
		}
		got, err := explain.MentorToday(ctx, pool, mentor)
		if err != nil {
			t.Fatal(err)
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			loc, _ = time.LoadLocation("Europe/Oslo")
		}
		if want := time.Now().In(loc).Format(time.DateOnly); got.Format(time.DateOnly) != want {
			t.Errorf("a mentor in %s: today %s, want %s", zone, got.Format(time.DateOnly), want)
		}
	}
}

// functionRole connects to a migrated database with the demo seed as a new login role that is a member of
// scenario_scheduler and holds nothing else, as the function's own login does (docs/supabase.md); admin is
// the database's owner.
func functionRole(t *testing.T) (fn, admin *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	if err := postgres.ApplySQL(ctx, admin, supabase.Seed); err != nil {
		t.Fatalf("seeding: %v", err)
	}
	name := fmt.Sprintf("explain_fn_%d", time.Now().UnixNano())
	password := fmt.Sprintf("pw%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, fmt.Sprintf(`create role %s login password '%s' in role scenario_scheduler`, name, password)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), `drop role if exists `+name); err != nil {
			t.Errorf("dropping role %s: %v", name, err)
		}
	})
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(name, password)
	if fn, err = pgx.Connect(ctx, u.String()); err != nil {
		t.Fatalf("connecting as the function role: %v", err)
	}
	t.Cleanup(func() { fn.Close(context.Background()) })
	return fn, admin
}

// `task explain` works as the function role in every documented form: a mentor's id or a part of their name,
// with a date or without one (the mentor's today), through scheduler.explain_mentor and scheduler.explain,
// while the role still cannot read the source contract.
func TestExplainAsFunctionRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fn, admin := functionRole(t)
	// A mentor of an organisation in Tokyo: without a date, explain takes Tokyo's today.
	const name = "Åse Forklaringsrolle"
	var id string
	if err := admin.QueryRow(ctx, `with o as (insert into public.organisations (name, timezone) values ('Tokyolaget', 'Asia/Tokyo') returning id)
		insert into public.peer_mentors (organisation_id, full_name) select id, $1 from o returning id::text`, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	date, _ := time.Parse(time.DateOnly, time.Now().In(tokyo).Format(time.DateOnly))
	for _, form := range []struct {
		what, mentor string
		date         time.Time
	}{
		{"id and date", id, date},
		{"id", strings.ToUpper(id), time.Time{}},
		{"name and date", name, date},
		{"part of the name", "forklaringsROLLE", time.Time{}},
	} {
		r, err := explain.Explain(ctx, fn, form.mentor, form.date)
		if err != nil {
			t.Errorf("explain by %s (%q) as the function role: %v", form.what, form.mentor, err)
			continue
		}
		if r.Mentor != id || r.Date.Format(time.DateOnly) != date.Format(time.DateOnly) || len(r.Answers) != len(engine.Scenarios) {
			t.Errorf("explain by %s as the function role: mentor %s on %s with %d answers, want %s on %s with %d",
				form.what, r.Mentor, r.Date.Format(time.DateOnly), len(r.Answers), id, date.Format(time.DateOnly), len(engine.Scenarios))
		}
	}
	// An unknown id without a date: the explanation says there is no such mentor, not a permission error.
	if _, err := explain.Explain(ctx, fn, "00000000-0000-0000-0000-000000000001", time.Time{}); err == nil ||
		!strings.Contains(err.Error(), "no peer mentor") {
		t.Errorf("an unknown mentor id without a date as the function role: %v, want no peer mentor", err)
	}
	if _, err := explain.Explain(ctx, fn, "Ingrid", time.Time{}); err == nil || !strings.Contains(err.Error(), "matches several mentors") {
		t.Errorf("an ambiguous name as the function role: %v", err)
	}
	if _, err := explain.Explain(ctx, fn, strings.Repeat("x", 201), time.Time{}); err == nil {
		t.Error("a 201-character name as the function role: no error")
	}
	// Still no privilege on the source contract itself.
	for _, q := range []string{`select * from scheduler_source.peer_mentors`, `select * from scheduler.mentor_today(null)`} {
		var pgErr *pgconn.PgError
		if _, err := fn.Exec(ctx, q); !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("as the function role: %s: %v, want SQLSTATE 42501", q, err)
		}
	}
}
