package supabase_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// job is one row of cron.job.
type job struct {
	Name, Schedule, Command string
}

func cronJobs(t *testing.T, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) []job {
	t.Helper()
	rows, err := q.Query(context.Background(), `select jobname, schedule, command from cron.job
	                                           where jobname like 'scenario-scheduler-%' order by jobname`)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[job])
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// errRollback ends a test transaction: cron changes stay invisible to other tests sharing the database.
var errRollback = errors.New("rollback")

// inRolledBackTx runs f in a transaction that is always rolled back.
func inRolledBackTx(t *testing.T, conn *pgx.Conn, f func(tx pgx.Tx)) {
	t.Helper()
	err := pgx.BeginFunc(context.Background(), conn, func(tx pgx.Tx) error {
		f(tx)
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
}

var daily = []job{{"scenario-scheduler-daily", "0 6 * * *", "select scheduler.invoke(null, 'scenario-scheduler-daily')"}}

var hourly = []job{{"scenario-scheduler-hourly", "5 * * * *", "select scheduler.invoke_due_slots('scenario-scheduler-hourly', 1)"}}

// The migrations schedule the daily job (the original task's scenario-scheduler-daily, 0 6 * * *), and only
// it: applying every migration again, twice (as psql re-running each file would), leaves the same job, with
// the same id, no hourly job beside it and no hourly start recorded.
func TestDailyJobIsScheduledOnce(t *testing.T) {
	conn := cronDatabase(t)
	if diff := cmp.Diff(daily, cronJobs(t, conn)); diff != "" {
		t.Fatalf("cron jobs after migrating (-want +got):\n%s", diff)
	}
	ms, err := postgres.LoadMigrations(supabase.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	// Other tests change cron.job in transactions of their own: one at a time.
	lock := connect(t, pgtest.ServerURL(t))
	if _, err := lock.Exec(context.Background(), servedLock); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = lock.Exec(context.Background(), `select pg_advisory_unlock_all()`) })
	inRolledBackTx(t, conn, func(tx pgx.Tx) {
		var before, after int64
		ctx := context.Background()
		starts := queryStrings(t, tx, `select jobname || ' ' || started_at from scheduler.job_starts order by 1`)
		if err := tx.QueryRow(ctx, `select jobid from cron.job where jobname = 'scenario-scheduler-daily'`).Scan(&before); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			for _, m := range ms {
				if _, err := tx.Exec(ctx, m.SQL); err != nil {
					t.Fatalf("applying %s_%s again: %v", m.Version, m.Name, err)
				}
			}
		}
		if diff := cmp.Diff(daily, cronJobs(t, tx)); diff != "" {
			t.Errorf("cron jobs after applying the migrations twice more (-want +got):\n%s", diff)
		}
		if err := tx.QueryRow(ctx, `select jobid from cron.job where jobname = 'scenario-scheduler-daily'`).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if before != after {
			t.Errorf("the job was recreated (jobid %d → %d), want it left in place", before, after)
		}
		if diff := cmp.Diff(starts, queryStrings(t, tx, `select jobname || ' ' || started_at from scheduler.job_starts order by 1`)); diff != "" {
			t.Errorf("job starts changed (-before +after): the hourly job was created on the way\n%s", diff)
		}
	})
}

func TestNoSecretInCronTables(t *testing.T) {
	conn := cronDatabase(t)
	rows, err := conn.Query(context.Background(), `select command from cron.job union all select command from cron.job_run_details`)
	if err != nil {
		t.Fatal(err)
	}
	commands, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands {
		if !strings.HasPrefix(c, "select scheduler.invoke(") && !strings.HasPrefix(c, "select scheduler.invoke_due_slots(") {
			continue
		}
		for _, bad := range []string{"secret", "http", "X-Scheduler", "Authorization", "Bearer"} {
			if strings.Contains(strings.ToLower(c), strings.ToLower(bad)) {
				t.Errorf("cron command %q contains %q", c, bad)
			}
		}
	}
}

func TestOperatorSchedules(t *testing.T) {
	conn := cronDatabase(t)
	ctx := context.Background()
	split := []job{
		{"scenario-scheduler-certification-expiry", "0 6 * * *",
			"select scheduler.invoke(array['certification_expiry'], 'scenario-scheduler-certification-expiry')"},
		{"scenario-scheduler-inactivity", "10 6 * * *", "select scheduler.invoke(array['inactivity'], 'scenario-scheduler-inactivity')"},
		{"scenario-scheduler-milestone", "5 6 * * *", "select scheduler.invoke(array['milestone'], 'scenario-scheduler-milestone')"},
	}
	catchUp := job{"scenario-scheduler-catch-up", "10-50/10 6-9 * * *", "select scheduler.invoke(null, 'scenario-scheduler-catch-up')"}
	steps := []struct {
		call string
		want []job
	}{
		{`select count(*) from scheduler.schedule_split()`, split},
		// Applying it twice changes nothing.
		{`select count(*) from scheduler.schedule_split()`, split},
		{`select count(*) from scheduler.schedule_catch_up()`, []job{catchUp, split[0], split[1], split[2]}},
		// A narrower split removes the jobs it no longer wants, keeps the catch-up job, and runs the scenarios
		// it does not name together after the named ones: none is dropped.
		{`select count(*) from scheduler.schedule_split(array['inactivity'], 5, 30)`,
			[]job{catchUp, {"scenario-scheduler-inactivity", "30 5 * * *", split[1].Command},
				{"scenario-scheduler-rest", "35 5 * * *",
					"select scheduler.invoke(array['certification_expiry', 'milestone'], 'scenario-scheduler-rest')"}}},
		// Splitting every scenario again leaves no rest job.
		{`select count(*) from scheduler.schedule_split()`, []job{catchUp, split[0], split[1], split[2]}},
		{`select count(*) from scheduler.schedule_daily()`, daily},
		// Sharded fan-out: the daily and catch-up jobs queue 4 requests each; back to one with the default.
		{`select count(*) from scheduler.schedule_daily('0 6 * * *', 4)`,
			[]job{{"scenario-scheduler-daily", "0 6 * * *", "select scheduler.invoke(null, 'scenario-scheduler-daily', false, 4)"}}},
		{`select count(*) from scheduler.schedule_catch_up(p_shards => 4)`,
			[]job{{"scenario-scheduler-catch-up", "10-50/10 6-9 * * *", "select scheduler.invoke(null, 'scenario-scheduler-catch-up', false, 4)"},
				{"scenario-scheduler-daily", "0 6 * * *", "select scheduler.invoke(null, 'scenario-scheduler-daily', false, 4)"}}},
		{`select count(*) from scheduler.schedule_daily()`, daily},
		// Each organisation's local time: the hourly job replaces every other scheduler job (and back).
		{`select count(*) from scheduler.schedule_catch_up()`, []job{catchUp, daily[0]}},
		{`select count(*) from scheduler.schedule_hourly()`,
			[]job{{"scenario-scheduler-hourly", "5 * * * *", "select scheduler.invoke_due_slots('scenario-scheduler-hourly', 1)"}}},
		{`select count(*) from scheduler.schedule_hourly('*/10 * * * *', 4)`,
			[]job{{"scenario-scheduler-hourly", "*/10 * * * *", "select scheduler.invoke_due_slots('scenario-scheduler-hourly', 4)"}}},
		{`select count(*) from scheduler.schedule_daily()`, daily},
	}
	// The continue job is not a schedule: none of them lists, replaces or removes it (cronJobs does not see it).
	continueJob := `select jobid || ' ' || schedule || ' ' || command from cron.job where jobname = 'scheduler-continue'`
	inRolledBackTx(t, conn, func(tx pgx.Tx) {
		continues := queryStrings(t, tx, continueJob)
		if len(continues) != 1 || !strings.HasSuffix(continues[0], " * * * * * select scheduler.continue_partial()") {
			t.Fatalf("the migrations' continue job: %q", continues)
		}
		for _, s := range steps {
			if _, err := tx.Exec(ctx, s.call); err != nil {
				t.Fatalf("%s: %v", s.call, err)
			}
			if diff := cmp.Diff(s.want, cronJobs(t, tx)); diff != "" {
				t.Fatalf("after %s (-want +got):\n%s", s.call, diff)
			}
			if diff := cmp.Diff(continues, queryStrings(t, tx, continueJob)); diff != "" {
				t.Errorf("after %s the continue job changed (-before +after):\n%s", s.call, diff)
			}
			// Whatever the schedule, every enabled scenario runs every day.
			var dropped []string
			if err := tx.QueryRow(ctx, `select coalesce(array_agg(scenario order by scenario), '{}')
				from scheduler.scenario_schedule(current_date) where cardinality(jobs) = 0`).Scan(&dropped); err != nil {
				t.Fatal(err)
			}
			if len(dropped) > 0 {
				t.Errorf("after %s no job runs %v", s.call, dropped)
			}
		}
		for _, call := range []string{`select scheduler.schedule_daily('0 6 * * *', 0)`, `select scheduler.schedule_catch_up(p_shards => 65)`,
			`select scheduler.schedule_hourly('5 * * * *', 0)`, `select scheduler.schedule_hourly('5 * * * *', 65)`,
			// The hourly job resumes partial runs itself: no catch-up job beside it.
			`select scheduler.schedule_hourly(); select scheduler.schedule_catch_up()`} {
			_, err := tx.Exec(ctx, "savepoint s; "+call)
			if sqlState(err) != "22023" {
				t.Errorf("%s: %v, want SQLSTATE 22023", call, err)
			}
			if _, err := tx.Exec(ctx, "rollback to savepoint s"); err != nil {
				t.Fatal(err)
			}
		}
		_, err := tx.Exec(ctx, `select scheduler.schedule_split(array['nope'])`)
		if sqlState(err) != "22023" {
			t.Errorf("schedule_split with an unknown scenario: %v, want SQLSTATE 22023", err)
		}
	})
}

func TestOperatorSchedulesNeedCron(t *testing.T) {
	conn := connect(t, pgtestDatabase(t))
	_, err := conn.Exec(context.Background(), `select scheduler.schedule_split()`)
	if err == nil || !strings.Contains(err.Error(), "pg_cron is not installed in database") {
		t.Fatalf("got %v, want an error saying pg_cron is not installed here", err)
	}
}
