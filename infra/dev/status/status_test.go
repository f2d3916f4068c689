package status_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/infra/dev/status"
)

// The command's output on a seeded history: a complete day, a partial day with its alert, a day of 401s and
// days without runs, from a fresh database with the pg_net stand-in (TEST ONLY; pg_net is not in Debian).
func TestStatusOnSeededHistory(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	script, err := os.ReadFile("../../../supabase/testdata/pg_net_vault_stand_ins.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.ApplySQL(ctx, conn, string(script)); err != nil {
		t.Fatal(err)
	}
	oslo, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(oslo)
	day := func(back int) string { return today.AddDate(0, 0, -back).Format(time.DateOnly) }

	seed := []struct {
		q    string
		back int
	}{
		// Today: complete, one run of 1.234 s, pg_net answered 200.
		{`insert into scheduler.checkpoints (evaluation_date, scenario, done, evaluated, notified)
		 values ($1, 'certification_expiry', true, 484, 85), ($1, 'milestone', true, 484, 369), ($1, 'inactivity', true, 484, 12)`, 0},
		{`insert into scheduler.runs (id, evaluation_date, trigger, status, duration_ms) values (gen_random_uuid(), $1, 'cron:scenario-scheduler-daily', 'completed', 1234)`, 0},
		// Yesterday: inactivity left partial; the watchdog's alert is open.
		{`insert into scheduler.checkpoints (evaluation_date, scenario, done, evaluated, notified)
		 values ($1, 'certification_expiry', true, 484, 3), ($1, 'milestone', true, 484, 2), ($1, 'inactivity', false, 200, 1)`, 1},
		{`insert into scheduler.runs (id, evaluation_date, trigger, status, duration_ms) values (gen_random_uuid(), $1, 'cron:scenario-scheduler-daily', 'partial', 29999)`, 1},
		{`insert into scheduler.alerts (day, problem, detail) values ($1, 'run_partial', 'today''s run left inactivity incomplete')`, 1},
		// Two days ago: two calls answered 401, nothing ran.
		{`insert into scheduler.alerts (day, problem, detail, since) values ($1, 'unauthorised', '2 request(s): the Vault secret does not match the function''s secret', now())`, 2},
	}
	for _, s := range seed {
		if _, err := conn.Exec(ctx, s.q, day(s.back)); err != nil {
			t.Fatalf("%s: %v", s.q, err)
		}
	}
	answers := []struct {
		back, status int
	}{{0, 200}, {1, 200}, {2, 401}, {2, 401}}
	for i, a := range answers {
		at := time.Date(today.Year(), today.Month(), today.Day()-a.back, 0, 1, 0, 0, oslo)
		if _, err := conn.Exec(ctx, `with q as (
			  insert into net.http_request_queue (method, url, headers, timeout_milliseconds) values ('POST', 'http://fn/', '{}', 45000) returning id)
			insert into scheduler.invocations (request_id, trigger, queued_at) select id, 'cron:scenario-scheduler-daily', $1 from q`, at); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `insert into net._http_response (id, status_code, timed_out, created)
			select request_id, $1, false, queued_at + interval '2 seconds' from scheduler.invocations order by id desc limit 1`, a.status); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
	}

	// An invocation ten days old whose request id pg_net gave again today (after re-creating the extension)
	// does not take today's answer.
	if _, err := conn.Exec(ctx, `insert into scheduler.invocations (request_id, trigger, queued_at)
		select request_id, 'cron:scenario-scheduler-daily', queued_at - interval '10 days' from scheduler.invocations
		order by queued_at desc limit 1`); err != nil {
		t.Fatal(err)
	}

	h, err := status.Read(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := h.Render(&out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	lines := strings.Split(out.String(), "\n")
	row := func(date string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, date+" ") {
				return strings.Join(strings.Fields(l), " ")
			}
		}
		t.Fatalf("no row for %s", date)
		return ""
	}
	for date, want := range map[string]string{
		day(0):  "completed certification_expiry completed, milestone completed, inactivity completed 1452 466 1 1.234s 200 x1 -",
		day(1):  "partial certification_expiry completed, milestone completed, inactivity partial 1168 6 1 29.999s 200 x1 run_partial",
		day(2):  "no run certification_expiry missing, milestone missing, inactivity missing 0 0 0 - 401 x2 unauthorised",
		day(10): "no run certification_expiry missing, milestone missing, inactivity missing 0 0 0 - expired x1 -",
		day(13): "no run certification_expiry missing, milestone missing, inactivity missing 0 0 0 - - -",
	} {
		if got := row(date); got != date+" "+want {
			t.Errorf("row %s:\n got %s\nwant %s %s", date, got, date, want)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^\d{4}-\d{2}-\d{2} `).FindAllString(out.String(), -1)); n != 14 {
		t.Errorf("%d day rows, want 14", n)
	}
	for _, want := range []string{
		fmt.Sprintf("  %s run_partial: today's run left inactivity incomplete", day(1)),
		fmt.Sprintf("  %s unauthorised: 2 request(s): the Vault secret does not match the function's secret", day(2)),
		"pg_cron is not installed in this database: nothing calls the function",
		// The reference mapping installs the change feed; no full evaluation has kept the state yet.
		"Evaluation mode: full (never_reconciled); 0 mentors due by today",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q", want)
		}
	}

	// The view is for the operator: Supabase's API roles and the function role cannot read it.
	for _, role := range []string{"anon", "authenticated", "scenario_scheduler"} {
		var exists, can bool
		if err := conn.QueryRow(ctx, `select exists (select 1 from pg_roles where rolname = $1)`, role).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if !exists {
			continue
		}
		if err := conn.QueryRow(ctx, `select has_table_privilege($1, 'scheduler.run_history', 'select')
			or has_table_privilege($1, 'scheduler.alerts', 'select') or has_table_privilege($1, 'scheduler.invocations', 'select')`, role).Scan(&can); err != nil {
			t.Fatal(err)
		}
		if can {
			t.Errorf("%s may read the run history", role)
		}
	}
}

// Next runs come from the jobs that exist, in UTC and local time.
func TestStatusNextRuns(t *testing.T) {
	var out bytes.Buffer
	next := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	h := status.History{TimeZone: "Europe/Oslo", Cron: true, Jobs: []status.Job{
		{Name: "scenario-scheduler-daily", Schedule: "0 6 * * *", Active: true, Scenarios: []string{"milestone"}, Next: &next},
		{Name: "scenario-scheduler-catch-up", Schedule: "10-50/10 6-9 * * *", Active: false, Scenarios: []string{"milestone"}},
	}}
	if err := h.Render(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"scenario-scheduler-daily  0 6 * * *  2026-12-02 06:00 UTC  07:00 CET Europe/Oslo  (milestone)",
		"scenario-scheduler-catch-up  10-50/10 6-9 * * *  paused",
	} {
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
}

// Without a scheduler job, status says how to restore the default daily job, and names the hourly option.
func TestStatusWithoutAJob(t *testing.T) {
	var out bytes.Buffer
	if err := (status.History{TimeZone: "Europe/Oslo", Cron: true}).Render(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"no scheduler cron job: select * from scheduler.schedule_daily(); (the default, 06:00 UTC)",
		"scheduler.schedule_hourly() for organisations in several time zones"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
}

// Each organisation's next local run: at its own send hour in its own time zone (Oslo, Tokyo east of it,
// New York west of it), today while the hour is ahead and tomorrow once today's evaluation is complete; an
// organisation whose time zone is unknown is named as such.
func TestStatusNextLocalRuns(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	zones := map[string]string{"Oslo lag": "Europe/Oslo", "Tokyo lag": "Asia/Tokyo", "New York lag": "America/New_York",
		"Mars lag": "Mars/Olympus"}
	for name, zone := range zones {
		if _, err := conn.Exec(ctx, `insert into public.organisations (name, timezone) values ($1, $2)`, name, zone); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `update scheduler.delivery_config set send_hour = 7 where organisation_id is null`); err != nil {
		t.Fatal(err)
	}
	// Today's evaluation of every slot is complete (today in each zone).
	now := time.Now()
	for _, zone := range zones {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			continue
		}
		if _, err := conn.Exec(ctx, `insert into scheduler.checkpoints (evaluation_date, scenario, slot, done)
			select $1::date, e.scenario, $2, true from scheduler.enabled_scenarios() e`,
			now.In(loc).Format(time.DateOnly), zone+"@07"); err != nil {
			t.Fatal(err)
		}
	}
	h, err := status.Read(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := h.Render(&out); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(out.String()), " ")
	for name, zone := range zones {
		want := name + " " + zone + " 07:00 - unknown time zone"
		if loc, err := time.LoadLocation(zone); err == nil {
			// Today is complete, before or after its send hour: the next run is tomorrow's.
			l := now.In(loc)
			at := time.Date(l.Year(), l.Month(), l.Day()+1, 7, 0, 0, 0, loc)
			want = fmt.Sprintf("%s %s 07:00 %s 07:00 local %s scheduled", name, zone, at.Format(time.DateOnly),
				at.UTC().Format("2006-01-02 15:04 UTC"))
		}
		if !strings.Contains(got, want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(got, "no active hourly job") {
		t.Errorf("the output does not say that no hourly job runs the organisations at their hours:\n%s", out.String())
	}
}

// A trigger that anyone may add to pg_net's tables stops every call (docs/security.md, 1e): status says so
// from the catalog, naming it, its table's owner and whom to ask, whether or not the watchdog ran.
func TestStatusNamesForeignTrigger(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	script, err := os.ReadFile("../../../supabase/testdata/pg_net_vault_stand_ins.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.ApplySQL(ctx, conn, string(script)); err != nil {
		t.Fatal(err)
	}
	render := func() string {
		t.Helper()
		h, err := status.Read(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := h.Render(&out); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	if out := render(); strings.Contains(out, "NOTHING RUNS") {
		t.Errorf("without a foreign trigger:\n%s", out)
	}
	if _, err := conn.Exec(ctx, `create trigger stop before insert or update on net._http_response
		for each row execute function suppress_redundant_updates_trigger()`); err != nil {
		t.Fatal(err)
	}
	out := render()
	t.Log("\n" + out)
	for _, want := range []string{"NOTHING RUNS", "support", "drop trigger stop on net._http_response (function suppress_redundant_updates_trigger(); postgres owns the table)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
}

// The continue job and the partial runs it continues: a run of today left partial is listed with what the
// job does next; without the job, status says that a partial run waits and how to schedule it.
func TestStatusContinuation(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, `insert into scheduler.runs (id, evaluation_date, trigger, status, started_at, request)
		values (gen_random_uuid(), '2026-12-07', 'cron:scenario-scheduler-daily', 'partial', now() - interval '1 minute',
		        '{"scenarios": ["milestone"], "shard": "2/4"}');
		insert into scheduler.invocations (request_id, trigger, job, scenarios, shard, evaluation_date, outcome)
		values (-1, 'cron:scheduler-continue', 'scheduler-continue', '{milestone}', '2/4', '2026-12-07', 'ok')`); err != nil {
		t.Fatal(err)
	}
	h, err := status.Read(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	want := "2026-12-07 whole project 4 shards (milestone): continue, 1 continuation(s)"
	if h.Continue == nil || len(h.Continue.Parts) != 1 || h.Continue.Parts[0] != want {
		t.Fatalf("continuation: %+v, want the part %q", h.Continue, want)
	}
	for _, c := range []struct {
		cron bool
		job  string
		max  int
		want string
	}{
		{true, "* * * * * | true", 20, "scheduler-continue * * * * * UTC, at most 20 continuation(s) per part"},
		{true, "", 20, "no scheduler-continue job: a partial run waits for the next call of its schedule; select * from scheduler.schedule_continue();"},
		{true, "* * * * * | false", 20, "scheduler-continue is paused"},
		{true, "* * * * * | true", 0, "turned off (scheduler.ops_settings.continue_max = 0)"},
		{false, "", 20, "pg_cron is not installed in this database: a partial run waits"},
	} {
		h.Cron, h.Continue.Job, h.Continue.Max = c.cron, c.job, c.max
		var out bytes.Buffer
		if err := h.Render(&out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), c.want) || !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q or %q:\n%s", c.want, want, out.String())
		}
	}
}
