package supabase_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// cronRun records a run of the daily job in cron.job_run_details as pg_cron does, with status and message.
func (w *watchEnv) cronRun(status, message string) {
	w.t.Helper()
	mustExec(w.t, w.tx, `insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status,
		return_message, start_time, end_time)
		select jobid, -1 - (select count(*) from cron.job_run_details), 1, current_database(), current_user, command, $1, $2, clock_timestamp(), clock_timestamp()
		from cron.job where jobname = 'scenario-scheduler-daily'`, status, message)
}

// open returns the open alerts as "problem: detail", oldest first.
func (w *watchEnv) open() []string {
	w.t.Helper()
	return queryStrings(w.t, w.tx, `select problem || ': ' || detail from scheduler.alerts where resolved_at is null order by id`)
}

// expectNew checks that the watchdog posts exactly the new problems want (each "problem: part of the detail").
func (w *watchEnv) expectNew(want ...string) {
	w.t.Helper()
	got := w.watch()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		problem, detail, _ := strings.Cut(want[i], ": ")
		ok = strings.HasPrefix(got[i], problem+": ") && strings.Contains(got[i], detail)
	}
	if !ok {
		w.t.Fatalf("new alerts %q, want %q", got, want)
	}
}

// Finding 1: a trigger anyone may add (pg_net grants TRIGGER to PUBLIC) makes every scheduler.invoke() refuse
// to queue. The watchdog says so once, naming the table, the trigger and the owner who can drop it, even
// before the scheduler's first call; not as a run_missing or an invoke_failed besides it.
func TestWatchdogForeignTrigger(t *testing.T) {
	secret := "the-secret-" + randomHex(t, 8)
	for _, table := range []string{"net.http_request_queue", "net._http_response"} {
		t.Run(table, func(t *testing.T) {
			withWatch(t, func(w *watchEnv) {
				w.secrets(w.function(secret), secret)
				trig := "stop_" + randomHex(t, 3)
				mustExec(t, w.tx, `create trigger `+trig+` before insert or update on `+table+`
					for each row execute function suppress_redundant_updates_trigger()`)
				var owner string
				if err := w.tx.QueryRow(context.Background(), `select pg_get_userbyid(relowner) from pg_class where oid = $1::regclass`, table).Scan(&owner); err != nil {
					t.Fatal(err)
				}
				// No call yet, and the day's expected run is already overdue.
				w.expectOne("foreign_trigger", trig+" on "+table)
				for _, part := range []string{"owned by " + owner, "support", "drop trigger " + trig + " on " + table} {
					if got := w.open(); len(got) != 1 || !strings.Contains(got[0], part) {
						t.Errorf("the alert %q does not say %q", got, part)
					}
				}
				// The cron job now fails with invoke()'s refusal: the same cause, no second alert.
				_, err := w.tx.Exec(context.Background(), `savepoint s; select scheduler.invoke()`)
				if err == nil || !strings.Contains(err.Error(), trig) {
					t.Fatalf("scheduler.invoke() with %s: %v, want a refusal naming it", trig, err)
				}
				mustExec(t, w.tx, `rollback to savepoint s`)
				w.cronRun("failed", "ERROR:  "+strings.TrimPrefix(err.Error(), "ERROR: "))
				if got := w.watch(); len(got) != 0 {
					t.Errorf("alerts besides foreign_trigger: %q", got)
				}
				// The owner of net drops it: the alert is resolved.
				mustExec(t, w.tx, `drop trigger `+trig+` on `+table)
				w.watch()
				for _, a := range w.open() {
					if strings.HasPrefix(a, "foreign_trigger: ") {
						t.Errorf("still open after the trigger was dropped: %q", a)
					}
				}
			})
		})
	}
}

// Finding 2: every queued scheduler request is accounted for. One that has no answer after pg_net's
// timeout and is gone from the queue (deleted, rewritten, lost) is an alert naming its job and time, though
// a later call succeeded and cron said succeeded; it is resolved once a later call of the same kind
// succeeds.
func TestWatchdogAccountsForEveryRequest(t *testing.T) {
	secret := "the-secret-" + randomHex(t, 8)
	const daily = `select scheduler.invoke(job => 'scenario-scheduler-daily')`
	invokeJob := func(w *watchEnv) int64 {
		var id int64
		if err := w.tx.QueryRow(context.Background(), daily).Scan(&id); err != nil {
			t.Fatal(err)
		}
		w.cronRun("succeeded", "1 row")
		return id
	}
	t.Run("deleted from the queue, a later call answered", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			lost := invokeJob(w)
			mustExec(t, w.tx, `delete from net.http_request_queue where id = $1`, lost)
			w.work(invokeJob(w))
			w.checkpoints()
			w.expectOne("request_lost", "scenario-scheduler-daily")
			if got := w.open(); len(got) != 1 || !strings.Contains(got[0], "UTC") {
				t.Errorf("the alert %q does not name the time", got)
			}
			// A call of the same kind after the loss was seen (the next check) succeeds: resolved.
			w.work(invokeJob(w))
			w.now = w.now.Add(time.Minute)
			if got := w.watch(); len(got) != 0 {
				t.Errorf("new alerts after a later success: %q", got)
			}
			if got := w.open(); len(got) != 0 {
				t.Errorf("open after a later success: %q", got)
			}
		})
	})
	t.Run("lost more than five hours ago", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			lost := invokeJob(w)
			mustExec(t, w.tx, `delete from net.http_request_queue where id = $1`, lost)
			mustExec(t, w.tx, `update scheduler.invocations set queued_at = $1::timestamptz - interval '5 hours 30 minutes'`, w.now)
			w.checkpoints()
			w.expectOne("request_lost", "scenario-scheduler-daily")
		})
	})
	t.Run("answered late", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			id := invokeJob(w)
			w.checkpoints()
			w.expectOne("no_answer", "pg_net's worker did not answer")
			w.work(id)
			if got := w.watch(); len(got) != 0 {
				t.Errorf("new alerts once answered: %q", got)
			}
			if got := w.open(); len(got) != 0 {
				t.Errorf("open once the request was answered: %q", got)
			}
		})
	})
}

// Finding 3: findings resolve when their cause is gone, each cause is posted once (a different cause the
// same day is posted), and one open finding does not mask another.
func TestWatchdogFindingsResolve(t *testing.T) {
	secret := "the-secret-" + randomHex(t, 8)
	t.Run("invoke failure, then success", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			w.cronRun("failed", "ERROR:  permission denied for view decrypted_secrets")
			w.expectOne("invoke_failed", "permission denied for view decrypted_secrets")
			w.work(w.invoke())
			w.checkpoints()
			if got := w.watch(); len(got) != 0 {
				t.Errorf("new alerts after the fix: %q", got)
			}
			if got := w.open(); len(got) != 0 {
				t.Errorf("open after a later call was queued and answered: %q", got)
			}
		})
	})
	t.Run("missed run after a fixed invoke failure", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			w.cronRun("failed", "ERROR:  permission denied for view decrypted_secrets")
			w.expectOne("invoke_failed", "permission denied")
			// The next call is queued and answered, yet nothing evaluated the day.
			w.work(w.invoke())
			w.expectNew("run_missing: no run evaluated")
			if got := w.open(); len(got) != 1 {
				t.Errorf("open alerts %q, want run_missing only (invoke_failed resolved)", got)
			}
		})
	})
	t.Run("missed run while another finding is open", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			// inactivity has lost its job; the daily job, for the rest, never ran.
			fire := w.now.Add(-time.Hour).UTC()
			mustExec(t, w.tx, `select scheduler.schedule_split(array['inactivity'], $1, $2)`, fire.Hour(), fire.Minute())
			mustExec(t, w.tx, `select cron.unschedule('scenario-scheduler-inactivity')`)
			w.expectNew("not_scheduled: inactivity", "run_missing: certification_expiry, milestone")
		})
	})
	t.Run("a second, different invoke failure the same day", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			w.cronRun("failed", "ERROR:  permission denied for view decrypted_secrets")
			w.expectOne("invoke_failed", "permission denied")
			w.cronRun("failed", "ERROR:  function scheduler.invoke(unknown, unknown) does not exist")
			w.expectNew("invoke_failed: does not exist")
			w.cronRun("failed", "ERROR:  function scheduler.invoke(unknown, unknown) does not exist")
			if got := w.watch(); len(got) != 0 {
				t.Errorf("the same cause posted again: %q", got)
			}
		})
	})
	t.Run("raised, resolved, raised again", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			w.work(w.invoke())
			w.checkpoints()
			mustExec(t, w.tx, `update cron.job set active = false where jobname = 'scenario-scheduler-daily'`)
			w.expectOne("not_scheduled", "no active cron job runs")
			mustExec(t, w.tx, `update cron.job set active = true where jobname = 'scenario-scheduler-daily'`)
			w.watch()
			if got := w.open(); len(got) != 0 {
				t.Errorf("open once the job is active again: %q", got)
			}
		})
	})
}
