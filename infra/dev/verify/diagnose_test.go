package verify_test

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/functions/config"
	"github.com/peermentor/scenario-scheduler/functions/wire"
	"github.com/peermentor/scenario-scheduler/infra/dev/verify"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// The dry run through scheduler.invoke() and pg_net names what is wrong in each broken deployment of
// finding 1: the real HTTP function, a fresh database with the stand-ins and a test playing pg_net's worker.
func TestDryRunDiagnoses(t *testing.T) {
	ctx := context.Background()
	secret := randomHex(32)

	// One database and one function for every case: the function connects as the least-privileged role.
	dbURL := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	script := mustRead(t, "../../../supabase/testdata/pg_net_vault_stand_ins.sql")
	if err := postgres.ApplySQL(ctx, conn, script); err != nil {
		t.Fatal(err)
	}
	if err := postgres.ApplySQL(ctx, conn, supabase.Seed); err != nil {
		t.Fatal(err)
	}
	b := &testBundle{serverURL: dbURL, admin: conn}
	env := map[string]string{config.DatabaseURL: b.functionRoleURL(t), config.Secret: secret, config.PushSender: config.SenderNone}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	sched, err := wire.New(ctx, cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	handler, closeHandler := sched.Handler, sched.Close
	t.Cleanup(closeHandler)
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	closed := closedPort(t)
	standInWorker(t, dbURL, "http://127.0.0.1:")

	for _, tc := range []struct {
		name, url, secret string
		wait              time.Duration
		want              string
		pass              bool
	}{
		{name: "healthy", url: srv.URL + "/", secret: secret, wait: 30 * time.Second, want: "200, report", pass: true},
		{name: "wrong secret in Vault", url: srv.URL + "/", secret: "not-" + secret, wait: 30 * time.Second,
			want: "the Vault secret does not match the function's secret"},
		{name: "unreachable URL", url: closed, secret: secret, wait: 30 * time.Second,
			want: "the URL in Vault is unreachable from the database"},
		{name: "missing Vault entry", url: srv.URL + "/", wait: 30 * time.Second,
			want: `missing Vault entry: Vault secret "scenario_scheduler_secret" is missing`},
		{name: "no pg_net worker", url: "http://worker.invalid/", secret: secret, wait: time.Second,
			want: "pg_net did not answer request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storeSecrets(t, conn, tc.url, tc.secret)
			r := verify.DryRun(ctx, dbURL, tc.wait)
			t.Logf("%s: %s\n%s", r.Outcome, r.Detail, r.Evidence)
			if (r.Outcome == verify.Pass) != tc.pass || !strings.Contains(r.Detail, tc.want) {
				t.Errorf("%s %q, want pass=%t mentioning %q", r.Outcome, r.Detail, tc.pass, tc.want)
			}
			if strings.Contains(r.Detail+r.Evidence, secret) {
				t.Error("the result contains the secret")
			}
		})
	}
	// The dry run wrote no notification.
	var n int
	if err := conn.QueryRow(ctx, `select count(*) from public.notifications`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d notifications written by verify's dry runs", n)
	}
}

// The schedule check reads the jobs that exist instead of demanding one expression: each documented schedule
// change passes with its times in UTC and local time; a pause, a removal or a split that drops scenarios fails.
func TestSchedulesCheck(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	winter := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	summer := time.Date(2027, 6, 15, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		change string
		now    time.Time
		pass   bool
		want   []string
	}{
		{"as migrated: the daily job, winter", ``, winter, true, []string{"scenario-scheduler-daily | 0 6 * * * | true | certification_expiry, milestone, inactivity | 06:00 | 07:00"}},
		{"as migrated: the daily job, summer", ``, summer, true, []string{"scenario-scheduler-daily | 0 6 * * * | true | certification_expiry, milestone, inactivity | 06:00 | 08:00"}},
		// The hourly job, the option for organisations in several time zones (running since before the test's clock).
		{"the hourly job, winter", `select scheduler.schedule_hourly(); delete from scheduler.job_starts`, winter, true,
			[]string{"scenario-scheduler-hourly | 5 * * * * | true | certification_expiry, milestone, inactivity | 07:05 | 08:05"}},
		{"the hourly job, summer", `select scheduler.schedule_hourly(); delete from scheduler.job_starts`, summer, true,
			[]string{"scenario-scheduler-hourly | 5 * * * * | true | certification_expiry, milestone, inactivity | 06:05 | 08:05"}},
		{"documented earlier time", `select scheduler.schedule_daily('30 5 * * *')`, winter, true, []string{"| 05:30 | 06:30"}},
		{"split, every scenario", `select scheduler.schedule_split()`, winter, true, []string{
			"scenario-scheduler-certification-expiry | 0 6 * * * | true | certification_expiry | 06:00 | 07:00",
			"scenario-scheduler-inactivity | 10 6 * * * | true | inactivity | 06:10 | 07:10"}},
		{"daily and catch-up", `select scheduler.schedule_daily(); select scheduler.schedule_catch_up()`, winter, true, []string{
			"scenario-scheduler-catch-up | 10-50/10 6-9 * * * | true | certification_expiry, milestone, inactivity | 06:10 06:20"}},
		{"hourly, each organisation at its send hour", `select scheduler.schedule_hourly(); delete from scheduler.job_starts;
			insert into scheduler.checkpoints (evaluation_date, scenario, slot, done)
			select '2026-12-01', e.scenario, 'Europe/Oslo@08', true from scheduler.enabled_scenarios() e`, winter, true, []string{
			"scenario-scheduler-hourly | 5 * * * * | true | certification_expiry, milestone, inactivity | 07:05 | 08:05",
			"Likepersonsenteret Oslo | Europe/Oslo | 08 | 2026-12-02 08:00 | 2026-12-02 07:00 UTC | scheduled"}},
		// Created at 23:30 in Oslo (an operator's switch, late): no call left on the day, not an unreadable schedule.
		{"the hourly job created late in the day", `select scheduler.schedule_hourly();
			update scheduler.job_starts set started_at = '2026-12-01 22:30+00' where jobname = 'scenario-scheduler-hourly'`, winter, true, []string{
			"scenario-scheduler-hourly | 5 * * * * | true | certification_expiry, milestone, inactivity | (none left on this day) | -"}},
		{"an organisation in an unknown time zone", `insert into public.organisations (name, timezone) values ('Marslaget', 'Mars/Olympus')`,
			winter, false, []string{"the time zone of Marslaget is unknown", "Marslaget | Mars/Olympus | 08 | - | - | unknown time zone"}},
		{"paused", `select cron.alter_job(jobid, active => false) from cron.job where jobname = 'scenario-scheduler-daily'`, winter, false,
			[]string{"no active cron job runs certification_expiry, milestone, inactivity"}},
		{"removed", `select cron.unschedule('scenario-scheduler-daily')`, winter, false,
			[]string{"no active cron job runs certification_expiry, milestone, inactivity"}},
		{"split whose rest job was removed", `select scheduler.schedule_split(array['inactivity']); select cron.unschedule('scenario-scheduler-rest')`, winter, false,
			[]string{"no active cron job runs certification_expiry, milestone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pgx.BeginFunc(ctx, b.admin, func(tx pgx.Tx) error {
				// No hourly job was created today (its creation would move today's expectations after it).
				if _, err := tx.Exec(ctx, `delete from scheduler.job_starts`); err != nil {
					return err
				}
				if tc.change != "" {
					if _, err := tx.Exec(ctx, tc.change); err != nil {
						return err
					}
				}
				r := verify.Schedules(ctx, tx, tc.now)
				t.Logf("%s: %s\n%s", r.Outcome, r.Detail, r.Evidence)
				if (r.Outcome == verify.Pass) != tc.pass {
					t.Errorf("%s %q, want pass=%t", r.Outcome, r.Detail, tc.pass)
				}
				for _, w := range tc.want {
					if !strings.Contains(r.Detail+"\n"+r.Evidence, w) {
						t.Errorf("the result does not mention %q", w)
					}
				}
				return errRollback
			})
			if err != errRollback {
				t.Fatal(err)
			}
		})
	}
}

// Check 1, the task's first item: the migrated daily job passes; an operator's other schedule is named and
// checked instead; a paused daily job, no job at all, or a schedule that leaves a scenario unrun fails.
func TestDailyJobCheck(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	winter := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, change string
		pass         bool
		want         []string
	}{
		{"as migrated", ``, true, []string{"scenario-scheduler-daily is scheduled at 0 6 * * *",
			"| 0 6 * * * | select scheduler.invoke(null, 'scenario-scheduler-daily') |"}},
		{"the daily job at another time", `select scheduler.schedule_daily('30 5 * * *')`, true,
			[]string{"not scenario-scheduler-daily at 0 6 * * *: the operator chose scenario-scheduler-daily 30 5 * * *"}},
		{"the hourly job", `select scheduler.schedule_hourly()`, true,
			[]string{"the operator chose scenario-scheduler-hourly 5 * * * *", "(0 rows)"}},
		{"paused", `select cron.alter_job(jobid, active => false) from cron.job where jobname = 'scenario-scheduler-daily'`, false,
			[]string{"no active cron job runs"}},
		{"a split that leaves scenarios unrun", `select scheduler.schedule_split(array['inactivity']); select cron.unschedule('scenario-scheduler-rest')`,
			false, []string{"no active cron job runs certification_expiry, milestone"}},
		{"no job", `select cron.unschedule('scenario-scheduler-daily')`, false, []string{"no active cron job runs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pgx.BeginFunc(ctx, b.admin, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `delete from scheduler.job_starts`); err != nil {
					return err
				}
				if tc.change != "" {
					if _, err := tx.Exec(ctx, tc.change); err != nil {
						return err
					}
				}
				r := verify.DailyJobCheck(ctx, tx, winter)
				t.Logf("%s: %s\n%s", r.Outcome, r.Detail, r.Evidence)
				if (r.Outcome == verify.Pass) != tc.pass {
					t.Errorf("%s %q, want pass=%t", r.Outcome, r.Detail, tc.pass)
				}
				for _, w := range tc.want {
					if !strings.Contains(r.Detail+"\n"+r.Evidence, w) {
						t.Errorf("the result does not mention %q", w)
					}
				}
				return errRollback
			})
			if err != errRollback {
				t.Fatal(err)
			}
		})
	}
}

var errRollback = errorString("rollback")

type errorString string

func (e errorString) Error() string { return string(e) }

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/"
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The grants check passes on the migrated database and names what was added: a SECURITY DEFINER function in
// public that PUBLIC may execute (an invoker function there does no more than the role may), a table privilege.
func TestGrantsCheck(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	for _, step := range []struct {
		sql, want string
		pass      bool
	}{
		{``, fmt.Sprintf("exactly the %d functions", len(verify.IntendedFunctions)), true},
		{`create function public.harmless() returns int language sql as 'select 1'`, fmt.Sprintf("exactly the %d functions", len(verify.IntendedFunctions)), true},
		// (Functions the migration role creates are not PUBLIC's by default any more: an explicit grant is needed.)
		{`create function public.peek() returns bigint language sql security definer as 'select count(*) from scheduler.runs';
		  grant execute on function public.peek() to public`,
			"more than intended: execute public.peek()", false},
		{`drop function public.peek(); grant insert on scheduler.alerts to scenario_scheduler`,
			"more than intended: insert on scheduler.alerts", false},
		{`revoke insert on scheduler.alerts from scenario_scheduler; revoke execute on function scheduler.enabled_scenarios() from scenario_scheduler`,
			"lacks: execute scheduler.enabled_scenarios()", false},
	} {
		if step.sql != "" {
			if _, err := conn.Exec(ctx, step.sql); err != nil {
				t.Fatalf("%s: %v", step.sql, err)
			}
		}
		r := verify.Grants(ctx, dbURL)
		if (r.Outcome == verify.Pass) != step.pass || !strings.Contains(r.Detail, step.want) {
			t.Errorf("after %q: %s %q, want pass=%t mentioning %q", step.sql, r.Outcome, r.Detail, step.pass, step.want)
		}
	}
}

// Check 2 fails while a trigger that anyone may add sits on pg_net's tables (docs/security.md, 1e): it names
// the trigger, its table and the table's owner, and whom to ask; it passes again once the trigger is gone.
func TestPgNetCheckNamesForeignTriggers(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if err := postgres.ApplySQL(ctx, conn, mustRead(t, "../../../supabase/testdata/pg_net_vault_stand_ins.sql")); err != nil {
		t.Fatal(err)
	}
	if r := verify.PgNet(ctx, dbURL, true); r.Outcome != verify.Pass {
		t.Fatalf("without a foreign trigger: %s %q", r.Outcome, r.Detail)
	}
	if _, err := conn.Exec(ctx, `create trigger stop before insert or update on net.http_request_queue
		for each row execute function suppress_redundant_updates_trigger()`); err != nil {
		t.Fatal(err)
	}
	var owner string
	if err := conn.QueryRow(ctx, `select pg_get_userbyid(relowner) from pg_class where oid = 'net.http_request_queue'::regclass`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	r := verify.PgNet(ctx, dbURL, true)
	t.Logf("%s: %s", r.Outcome, r.Detail)
	for _, part := range []string{"stop on net.http_request_queue", owner + " owns the table", "support"} {
		if r.Outcome != verify.Fail || !strings.Contains(r.Detail, part) {
			t.Errorf("with a foreign trigger: %s %q, want fail mentioning %q", r.Outcome, r.Detail, part)
		}
	}
	if _, err := conn.Exec(ctx, `drop trigger stop on net.http_request_queue`); err != nil {
		t.Fatal(err)
	}
	if r := verify.PgNet(ctx, dbURL, true); r.Outcome != verify.Pass {
		t.Errorf("once the trigger is gone: %s %q", r.Outcome, r.Detail)
	}
}

// Check 10: the jobs the migrations schedule beside the chosen schedule (watchdog, retention, and the
// continue job, which no schedule change removes) pass as migrated; one removed or paused fails and names the
// call that restores it.
func TestOperationsJobsCheck(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, change string
		pass         bool
		want         string
	}{
		{"as migrated", ``, true, "scheduler-continue | * * * * * | true"},
		{"the hourly job instead of the daily one", `select scheduler.schedule_hourly()`, true, "scheduler-continue | * * * * * | true"},
		{"the continue job removed", `select cron.unschedule('scheduler-continue')`, false, "select scheduler.schedule_continue();"},
		{"the continue job paused", `select cron.alter_job(jobid, active => false) from cron.job where jobname = 'scheduler-continue'`,
			false, "not active: scheduler-continue;"},
		{"the watchdog removed", `select cron.unschedule('scheduler-watchdog')`, false, "select scheduler.schedule_watchdog();"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pgx.BeginFunc(ctx, b.admin, func(tx pgx.Tx) error {
				if tc.change != "" {
					if _, err := tx.Exec(ctx, tc.change); err != nil {
						return err
					}
				}
				r := verify.OperationsJobs(ctx, tx)
				if (r.Outcome == verify.Pass) != tc.pass || !strings.Contains(r.Detail+"\n"+r.Evidence, tc.want) {
					t.Errorf("%s %q\n%s\nwant pass=%t and %q", r.Outcome, r.Detail, r.Evidence, tc.pass, tc.want)
				}
				return errRollback
			})
			if err != errRollback {
				t.Fatal(err)
			}
		})
	}
}
