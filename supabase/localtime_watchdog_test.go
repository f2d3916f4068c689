package supabase_test

import (
	"strings"
	"testing"
	"time"
)

// With the hourly job, a slot that never started its local date is an alert even when another slot of the
// same date ran (the watchdog saw only the day's checkpoints as a whole); once it has started, a partial
// run is the watchdog's usual run_partial.
func TestWatchdogNamesAMissingSlot(t *testing.T) {
	secret := "the-secret-" + randomHex(t, 8)
	withWatch(t, func(w *watchEnv) {
		w.secrets(w.function(secret), secret)
		at := osloAndNewYork(w)
		date := at.Format(time.DateOnly)
		findings := func() []string {
			t.Helper()
			return queryStrings(t, w.tx, `select problem || ': ' || detail from scheduler.watch_findings($1)
				where problem like 'run_%'`, at)
		}
		mustExec(t, w.tx, `insert into scheduler.checkpoints (evaluation_date, scenario, slot, done)
			select $1::date, e.scenario, 'Europe/Oslo@08', true from scheduler.enabled_scenarios() e`, date)
		got := findings()
		if len(got) != 1 || !strings.HasPrefix(got[0], "run_missing: ") ||
			!strings.Contains(got[0], "America/New_York@08 on "+date+" (New York)") || strings.Contains(got[0], "Oslo") {
			t.Fatalf("Oslo's slot done, New York's never started: %q; want one run_missing naming New York's slot", got)
		}
		// New York's run started and stayed partial.
		mustExec(t, w.tx, `insert into scheduler.checkpoints (evaluation_date, scenario, slot, done)
			select $1::date, e.scenario, 'America/New_York@08', e.scenario <> 'inactivity' from scheduler.enabled_scenarios() e`, date)
		if got := findings(); len(got) != 1 || !strings.HasPrefix(got[0], "run_partial: ") {
			t.Fatalf("New York's slot partial: %q; want run_partial only", got)
		}
		mustExec(t, w.tx, `update scheduler.checkpoints set done = true`)
		if got := findings(); len(got) != 0 {
			t.Fatalf("both slots complete: %q; want nothing", got)
		}
	})
}

// osloAndNewYork runs the hourly job for two organisations of the cron database's source, Oslo and New York,
// both at the default 08:00, and returns 20:00 UTC today: 21:00 or 22:00 in Oslo, 15:00 or 16:00 in New York,
// one date in both, both slots past 08:30.
func osloAndNewYork(w *watchEnv) time.Time {
	mustExec(w.t, w.tx, `select scheduler.schedule_hourly()`)
	// The hourly job has run the project since long before the day looked at (its creation today, later than
	// 20:00 UTC when the test runs late, would rightly move the day's expectations after it).
	mustExec(w.t, w.tx, `delete from scheduler.job_starts`)
	mustExec(w.t, w.tx, `create or replace view scheduler_source.organisations as
		select v.id, v.name, v.timezone from (values
		  ('00000000-0000-4000-8000-00000000000a'::uuid, 'Oslo'::text, 'Europe/Oslo'::text),
		  ('00000000-0000-4000-8000-00000000000b'::uuid, 'New York'::text, 'America/New_York'::text)) v(id, name, timezone)`)
	mustExec(w.t, w.tx, `delete from scheduler.delivery_config where organisation_id is not null`)
	return time.Now().UTC().Truncate(24 * time.Hour).Add(20 * time.Hour)
}

// Finding 3 with the hourly job: a failed call early in the day (a Vault grant missing for a moment) that a
// later call got past no longer hides a slot that never started.
func TestWatchdogMissingSlotBesideAFixedFailure(t *testing.T) {
	withWatch(t, func(w *watchEnv) {
		w.secrets("http://127.0.0.1:9/", "the-secret-"+randomHex(t, 8))
		at := osloAndNewYork(w)
		date := at.Format(time.DateOnly)
		// 07:05 UTC: the hourly job failed; 08:05 UTC: it queued Oslo's slot, which ran.
		mustExec(t, w.tx, `insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status,
			return_message, start_time, end_time)
			select jobid, -1 - (select count(*) from cron.job_run_details), 1, current_database(), current_user, command, 'failed',
			       'ERROR:  permission denied for view decrypted_secrets', $1, $1
			from cron.job where jobname = 'scenario-scheduler-hourly'`, at.Add(-13*time.Hour+5*time.Minute))
		mustExec(t, w.tx, `insert into scheduler.invocations (request_id, trigger, job, slot, queued_at)
			values (1, 'cron:scenario-scheduler-hourly', 'scenario-scheduler-hourly', 'Europe/Oslo@08', $1)`, at.Add(-12*time.Hour+5*time.Minute))
		mustExec(t, w.tx, `insert into scheduler.checkpoints (evaluation_date, scenario, slot, done)
			select $1::date, e.scenario, 'Europe/Oslo@08', true from scheduler.enabled_scenarios() e`, date)
		got := queryStrings(t, w.tx, `select problem || ': ' || detail from scheduler.watch_findings($1)`, at)
		if len(got) != 1 || !strings.HasPrefix(got[0], "run_missing: ") || !strings.Contains(got[0], "America/New_York@08 on "+date) {
			t.Fatalf("a failure fixed by a later call, New York never started: %q; want run_missing naming New York's slot only", got)
		}
	})
}
