package supabase_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
)

// noticeConn connects to the database pg_cron runs in (migrated by cronDatabase) and collects the NOTICEs
// it receives.
func noticeConn(t *testing.T) (*pgx.Conn, func() []string) {
	t.Helper()
	cronDatabase(t)
	cfg, err := pgx.ParseConfig(pgtest.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var notices []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		defer mu.Unlock()
		notices = append(notices, n.Message)
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	// Other tests change cron.job in transactions of their own: one at a time.
	if _, err := conn.Exec(context.Background(), servedLock); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), `select pg_advisory_unlock_all()`) })
	return conn, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := notices
		notices = nil
		return out
	}
}

// 20261201160600_hourly_by_default.sql replaces the daily job with the hourly job only where the schedule is
// the migrations' untouched default; an operator's choice is left as it is, with a NOTICE saying so and how
// to switch. Applying it again changes nothing.
func TestHourlyByDefaultReplacesOnlyTheUntouchedDailyJob(t *testing.T) {
	conn, notices := noticeConn(t)
	migration := migrationSQL(t, "hourly_by_default")
	for _, c := range []struct {
		name, setup string
		switched    bool
	}{
		{"the migrations' daily job, untouched", `select scheduler.schedule_daily()`, true},
		{"the daily job at another time", `select scheduler.schedule_daily('30 5 * * *')`, false},
		{"the daily job in shards", `select scheduler.schedule_daily('0 6 * * *', 4)`, false},
		{"a catch-up job beside the daily job", `select scheduler.schedule_daily(); select scheduler.schedule_catch_up()`, false},
		{"split jobs", `select scheduler.schedule_split()`, false},
		{"the daily job paused", `select scheduler.schedule_daily();
			select cron.alter_job(jobid, active => false) from cron.job where jobname = 'scenario-scheduler-daily'`, false},
		{"the daily job with another command", `select scheduler.schedule_daily();
			select cron.alter_job(jobid, command => 'select scheduler.invoke()') from cron.job where jobname = 'scenario-scheduler-daily'`, false},
		// pg_cron lets only a job's owner remove it: the migration must not fail on it.
		{"the untouched daily job, owned by another role", `select scheduler.schedule_daily();
			update cron.job set username = 'supabase_admin' where jobname = 'scenario-scheduler-daily'`, false},
		{"no scheduler job (another scheduler calls the function)", `select scheduler.schedule_daily();
			select cron.unschedule('scenario-scheduler-daily')`, false},
		{"the hourly job every 10 minutes in 2 shards", `select scheduler.schedule_hourly('*/10 * * * *', 2)`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			inRolledBackTx(t, conn, func(tx pgx.Tx) {
				ctx := context.Background()
				mustExec(t, tx, c.setup)
				before := cronJobs(t, tx)
				notices()
				mustExec(t, tx, migration)
				got, said := cronJobs(t, tx), strings.Join(notices(), "\n")
				if c.switched {
					if diff := cmp.Diff(hourly, got); diff != "" {
						t.Fatalf("jobs after the migration (-want +got):\n%s", diff)
					}
					if !strings.Contains(said, "replaced by scenario-scheduler-hourly") || !strings.Contains(said, "scheduler.schedule_daily()") {
						t.Errorf("NOTICE %q: want it to say the daily job was replaced and how to go back", said)
					}
					var started time.Time
					if err := tx.QueryRow(ctx, `select started_at from scheduler.job_starts where jobname = 'scenario-scheduler-hourly'`).Scan(&started); err != nil {
						t.Fatalf("the hourly job's start is not recorded: %v", err)
					}
				} else {
					if diff := cmp.Diff(before, got); diff != "" {
						t.Fatalf("an operator's schedule was changed (-before +after):\n%s", diff)
					}
					if !strings.Contains(said, "left as it is") && !strings.Contains(said, "left as they are") {
						t.Errorf("NOTICE %q: want it to say the schedule is left as it is", said)
					}
					if !strings.Contains(c.setup, "schedule_hourly") && !strings.Contains(said, "select * from scheduler.schedule_hourly();") {
						t.Errorf("NOTICE %q: want it to say how to switch to the hourly job", said)
					}
				}
				// Applying it again changes nothing.
				after := cronJobs(t, tx)
				mustExec(t, tx, migration)
				if diff := cmp.Diff(after, cronJobs(t, tx)); diff != "" {
					t.Errorf("applying the migration again changed the jobs (-before +after):\n%s", diff)
				}
			})
		})
	}
}

// On the day a deployed project switches from the migrations' daily job to the hourly job (here at 03:00 UTC,
// before the daily job's 06:00), the watchdog expects a slot whose send hour had already passed (Tokyo's
// 08:00, 23:00 UTC the evening before) at the hourly job's first call after the switch, not at a send hour
// when no hourly job existed; nobody expects the removed daily job; and it still names a slot that then does
// not run.
func TestWatchdogOnTheDayOfTheSwitch(t *testing.T) {
	withWatch(t, func(w *watchEnv) {
		w.secrets("http://127.0.0.1:9/", "the-secret-"+randomHex(t, 8))
		mustExec(t, w.tx, `select scheduler.schedule_daily()`)
		mustExec(t, w.tx, migrationSQL(t, "hourly_by_default"))
		day := time.Date(2026, 1, 14, 0, 0, 0, 0, time.UTC)
		date := day.Format(time.DateOnly)
		mustExec(t, w.tx, `update scheduler.job_starts set started_at = $1 where jobname = 'scenario-scheduler-hourly'`,
			day.Add(3*time.Hour))
		mustExec(t, w.tx, `create or replace view scheduler_source.organisations as
			select v.id, v.name, v.timezone from (values
			  ('00000000-0000-4000-8000-00000000000a'::uuid, 'Oslo'::text, 'Europe/Oslo'::text),
			  ('00000000-0000-4000-8000-00000000000c'::uuid, 'Tokyo'::text, 'Asia/Tokyo'::text)) v(id, name, timezone)`)
		mustExec(t, w.tx, `delete from scheduler.delivery_config where organisation_id is not null`)
		// The daily job evaluated the whole project for the day before.
		mustExec(t, w.tx, `insert into scheduler.checkpoints (evaluation_date, scenario, slot, done)
			select $1::date - 1, e.scenario, '', true from scheduler.enabled_scenarios() e`, date)
		findings := func(at time.Duration) string {
			t.Helper()
			return strings.Join(queryStrings(t, w.tx, `select problem || ': ' || detail from scheduler.watch_findings($1)`,
				day.Add(at)), "; ")
		}
		slotDone := func(slot string) {
			mustExec(t, w.tx, `insert into scheduler.checkpoints (evaluation_date, scenario, slot, done)
				select $1::date, e.scenario, $2, true from scheduler.enabled_scenarios() e`, date, slot)
		}
		// 03:02 UTC: Tokyo's 08:00 passed before the switch; the first call, at 03:05, runs it.
		if got := findings(3*time.Hour + 2*time.Minute); got != "" {
			t.Fatalf("03:02 UTC, two minutes after the switch: %q; want nothing", got)
		}
		// 03:40 UTC: that call plus the grace period has passed and Tokyo never started.
		// (No checkpoint of the date at all: the watchdog's whole-day reading says so first.)
		if got := findings(3*time.Hour + 40*time.Minute); !strings.HasPrefix(got, "run_missing: ") || strings.Contains(got, "Oslo") {
			t.Fatalf("03:40 UTC, Tokyo not started: %q; want run_missing, not about Oslo", got)
		}
		slotDone("Asia/Tokyo@08")
		// 06:40 UTC: past the removed daily job's 06:00 plus grace; Oslo's 08:00 (07:00 UTC) is still ahead.
		for _, at := range []time.Duration{3*time.Hour + 40*time.Minute, 6*time.Hour + 40*time.Minute} {
			if got := findings(at); got != "" {
				t.Fatalf("%s UTC, Tokyo done: %q; want nothing", day.Add(at).Format("15:04"), got)
			}
		}
		// 07:40 UTC: Oslo's call at 07:05 plus grace has passed.
		if got := findings(7*time.Hour + 40*time.Minute); !strings.HasPrefix(got, "run_missing: ") ||
			!strings.Contains(got, "Europe/Oslo@08 on "+date+" (Oslo)") {
			t.Fatalf("07:40 UTC, Oslo not started: %q; want run_missing naming Oslo's slot", got)
		}
		slotDone("Europe/Oslo@08")
		if got := findings(20 * time.Hour); got != "" {
			t.Fatalf("20:00 UTC, both slots done: %q; want nothing", got)
		}
	})
}
