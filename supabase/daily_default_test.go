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

// 20261207100000_daily_by_default.sql switches a project back to the daily job only where its scheduler jobs
// are the untouched hourly job that the former 20261201160600_hourly_by_default.sql scheduled; an operator's
// choice is left as it is, with a NOTICE saying so, and the daily default without a word. Applying it again
// changes nothing, not even the job's id.
func TestDailyByDefaultSwitchesBackOnlyTheUntouchedHourlyJob(t *testing.T) {
	conn, notices := noticeConn(t)
	migration := migrationSQL(t, "daily_by_default")
	for _, c := range []struct {
		name, setup string
		switched    bool
		// said is what the NOTICE must contain ("": no NOTICE at all).
		said []string
	}{
		{"the hourly job as the former migration scheduled it", `select scheduler.schedule_hourly()`, true,
			[]string{"replaced by scenario-scheduler-daily", "0 6 * * * UTC", "select * from scheduler.schedule_hourly();"}},
		{"the daily job (the default)", `select scheduler.schedule_daily()`, false, nil},
		{"the hourly job every 10 minutes in 2 shards", `select scheduler.schedule_hourly('*/10 * * * *', 2)`, false,
			[]string{"left as they are", "scenario-scheduler-hourly | */10 * * * *"}},
		{"the hourly job in 2 shards", `select scheduler.schedule_hourly('5 * * * *', 2)`, false, []string{"left as they are"}},
		{"the hourly job paused", `select scheduler.schedule_hourly();
			select cron.alter_job(jobid, active => false) from cron.job where jobname = 'scenario-scheduler-hourly'`, false,
			[]string{"left as they are"}},
		// pg_cron lets only a job's owner remove it: the migration must not fail on it.
		{"the untouched hourly job, owned by another role", `select scheduler.schedule_hourly();
			update cron.job set username = 'supabase_admin' where jobname = 'scenario-scheduler-hourly'`, false,
			[]string{"belongs to role supabase_admin", "select * from scheduler.schedule_daily();"}},
		{"the daily job at another time", `select scheduler.schedule_daily('30 5 * * *')`, false, []string{"left as they are"}},
		{"the daily job in shards", `select scheduler.schedule_daily('0 6 * * *', 4)`, false, []string{"left as they are"}},
		{"a catch-up job beside the daily job", `select scheduler.schedule_daily(); select scheduler.schedule_catch_up()`, false,
			[]string{"left as they are"}},
		{"split jobs", `select scheduler.schedule_split()`, false, []string{"left as they are"}},
		{"no scheduler job (another scheduler calls the function)", `select scheduler.schedule_daily();
			select cron.unschedule('scenario-scheduler-daily')`, false, []string{"no scheduler job"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			inRolledBackTx(t, conn, func(tx pgx.Tx) {
				mustExec(t, tx, c.setup)
				before := cronJobs(t, tx)
				if c.switched {
					// The setup is the job the former migration scheduled, exactly.
					if diff := cmp.Diff(hourly, before); diff != "" {
						t.Fatalf("setup (-the former default +got):\n%s", diff)
					}
				}
				notices()
				mustExec(t, tx, migration)
				got, said := cronJobs(t, tx), strings.Join(notices(), "\n")
				want := before
				if c.switched {
					want = daily
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("jobs after the migration (-want +got):\n%s", diff)
				}
				if c.said == nil && said != "" {
					t.Errorf("NOTICE %q: want none for the daily default", said)
				}
				for _, w := range c.said {
					if !strings.Contains(said, w) {
						t.Errorf("NOTICE %q: want it to contain %q", said, w)
					}
				}
				// Applying it again changes nothing, not even the job's id.
				ids := jobIDs(t, tx)
				mustExec(t, tx, migration)
				if diff := cmp.Diff(ids, jobIDs(t, tx)); diff != "" {
					t.Errorf("applying the migration again changed the jobs (-before +after):\n%s", diff)
				}
			})
		})
	}
}

// jobIDs lists the scheduler's cron jobs with their ids: a job recreated under the same name shows.
func jobIDs(t *testing.T, tx pgx.Tx) []string {
	t.Helper()
	return queryStrings(t, tx, `select jobid || ' ' || jobname || ' | ' || schedule || ' | ' || command || ' | ' || active
		from cron.job where jobname like 'scenario-scheduler-%' order by jobname`)
}

// On the day a project switches from the daily job back to the hourly job, at 10:00 UTC after the daily
// job ran the day, the watchdog is content; had nothing run the day (a switch after 06:00 UTC before Oslo's
// slot), it reports the missing run, which the migration's NOTICE says how to start.
func TestWatchdogOnTheDayOfTheSwitchBack(t *testing.T) {
	for _, ran := range []bool{true, false} {
		t.Run(map[bool]string{true: "the day run before the switch", false: "nothing run on the day"}[ran], func(t *testing.T) {
			withWatch(t, func(w *watchEnv) {
				w.secrets("http://127.0.0.1:9/", "the-secret-"+randomHex(t, 8))
				mustExec(t, w.tx, `select scheduler.schedule_hourly()`)
				day := time.Date(2026, 1, 14, 0, 0, 0, 0, time.UTC)
				date := day.Format(time.DateOnly)
				mustExec(t, w.tx, `update scheduler.job_starts set started_at = $1 where jobname = 'scenario-scheduler-hourly'`,
					day.Add(-30*24*time.Hour))
				mustExec(t, w.tx, `create or replace view scheduler_source.organisations as
				select v.id, v.name, v.timezone from (values
				  ('00000000-0000-4000-8000-00000000000a'::uuid, 'Oslo'::text, 'Europe/Oslo'::text)) v(id, name, timezone)`)
				mustExec(t, w.tx, `delete from scheduler.delivery_config where organisation_id is not null`)
				mustExec(t, w.tx, `insert into scheduler.checkpoints (evaluation_date, scenario, slot, done)
				select $1::date - 1, e.scenario, 'Europe/Oslo@08', true from scheduler.enabled_scenarios() e`, date)
				if ran {
					// The hourly job ran Oslo's slot at 07:05 UTC.
					mustExec(t, w.tx, `insert into scheduler.checkpoints (evaluation_date, scenario, slot, done)
					select $1::date, e.scenario, 'Europe/Oslo@08', true from scheduler.enabled_scenarios() e`, date)
				}
				mustExec(t, w.tx, migrationSQL(t, "daily_by_default"))
				if diff := cmp.Diff(daily, cronJobs(t, w.tx)); diff != "" {
					t.Fatalf("jobs after the migration (-want +got):\n%s", diff)
				}
				got := strings.Join(queryStrings(t, w.tx, `select problem || ': ' || detail from scheduler.watch_findings($1)`,
					day.Add(10*time.Hour)), "; ")
				switch {
				case ran && got != "":
					t.Errorf("10:00 UTC, the day run by the hourly job before the switch: %q; want nothing", got)
				case !ran && !strings.HasPrefix(got, "run_missing: "):
					t.Errorf("10:00 UTC, nothing run on the day of the switch: %q; want run_missing", got)
				}
				// The next day the daily job's 06:00 UTC is expected.
				next := day.Add(24 * time.Hour)
				if got := strings.Join(queryStrings(t, w.tx, `select problem || ': ' || detail from scheduler.watch_findings($1)`,
					next.Add(7*time.Hour)), "; "); !strings.HasPrefix(got, "run_missing: ") {
					t.Errorf("07:00 UTC the next day, no daily run: %q; want run_missing", got)
				}
			})
		})
	}
}

// On the day an operator switches from the daily job to the hourly job (scheduler.schedule_hourly(), here at
// 03:00 UTC, before the daily job's 06:00), the watchdog expects a slot whose send hour had already passed (Tokyo's
// 08:00, 23:00 UTC the evening before) at the hourly job's first call after the switch, not at a send hour
// when no hourly job existed; nobody expects the removed daily job; and it still names a slot that then does
// not run.
func TestWatchdogOnTheDayOfTheSwitch(t *testing.T) {
	withWatch(t, func(w *watchEnv) {
		w.secrets("http://127.0.0.1:9/", "the-secret-"+randomHex(t, 8))
		mustExec(t, w.tx, `select scheduler.schedule_daily()`)
		mustExec(t, w.tx, `select scheduler.schedule_hourly()`)
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
