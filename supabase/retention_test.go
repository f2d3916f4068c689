package supabase_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// scheduler.prune() closes runs a killed function left running, deletes what is past its window and keeps the
// rest, including pg_cron's run details (tested on the database pg_cron runs in, rolled back).
func TestPrune(t *testing.T) {
	conn := cronDatabase(t)
	ctx := context.Background()
	inRolledBackTx(t, conn, func(tx pgx.Tx) {
		now := time.Now()
		for _, q := range []string{
			`delete from scheduler.runs`, `delete from scheduler.checkpoints`,
			`delete from scheduler.invocations`, `delete from scheduler.alerts`,
			`update scheduler.ops_settings set history_days = 100, cron_details_days = 7, abandon_after_minutes = 60`,
		} {
			mustExec(t, tx, q)
		}
		// Runs: old and finished (deleted), recent (kept), killed mid-way 2 h ago (abandoned), running with a
		// live lease (kept running), running for 5 minutes (kept running).
		mustExec(t, tx, `insert into scheduler.runs (id, evaluation_date, trigger, status, started_at) values
			('00000000-0000-0000-0000-000000000001', current_date - 120, 'cron:x', 'completed', $1::timestamptz - interval '120 days'),
			('00000000-0000-0000-0000-000000000002', current_date - 5, 'cron:x', 'completed', $1::timestamptz - interval '5 days'),
			('00000000-0000-0000-0000-000000000003', current_date, 'cron:x', 'running', $1::timestamptz - interval '2 hours'),
			('00000000-0000-0000-0000-000000000004', current_date, 'cron:x', 'running', $1::timestamptz - interval '2 hours'),
			('00000000-0000-0000-0000-000000000005', current_date, 'cron:x', 'running', $1::timestamptz - interval '5 minutes')`, now)
		mustExec(t, tx, `insert into scheduler.checkpoints (evaluation_date, scenario, lease_owner, lease_until) values
			(current_date, 'inactivity', '00000000-0000-0000-0000-000000000003', $1::timestamptz - interval '1 hour'),
			(current_date, 'milestone', '00000000-0000-0000-0000-000000000004', $1::timestamptz + interval '1 minute'),
			(current_date - 120, 'inactivity', null, null)`, now)
		mustExec(t, tx, `insert into scheduler.invocations (request_id, trigger, queued_at) values
			(1, 'cron:x', $1::timestamptz - interval '101 days'), (2, 'cron:x', $1::timestamptz - interval '1 day')`, now)
		mustExec(t, tx, `insert into scheduler.alerts (day, problem, detail) values
			(current_date - 150, 'run_missing', 'old'), (current_date - 1, 'run_missing', 'recent')`)
		mustExec(t, tx, `insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status,
			return_message, start_time, end_time) values
			(1, -101, 1, current_database(), current_user, 'select 1', 'succeeded', '1 row', $1::timestamptz - interval '8 days', $1::timestamptz - interval '8 days'),
			(1, -102, 1, current_database(), current_user, 'select 1', 'succeeded', '1 row', $1::timestamptz - interval '6 days', $1::timestamptz - interval '6 days')`, now)

		rows, err := tx.Query(ctx, `select what, affected from scheduler.prune($1)`, now)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for rows.Next() {
			var what string
			var n int64
			if err := rows.Scan(&what, &n); err != nil {
				t.Fatal(err)
			}
			got[what] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{
			"runs closed as abandoned": 1, "runs deleted": 1, "checkpoints deleted": 1,
			"invocations deleted": 1, "alerts deleted": 1, "cron.job_run_details deleted": 1,
			"held-out nudges deleted": 0, // kept as long as the notifications unless nudge_history_days is set
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("prune's counts (-want +got):\n%s", diff)
		}

		statuses := map[string]string{}
		rows, err = tx.Query(ctx, `select right(id::text, 1), status from scheduler.runs`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, st string
			if err := rows.Scan(&id, &st); err != nil {
				t.Fatal(err)
			}
			statuses[id] = st
		}
		if diff := cmp.Diff(map[string]string{"2": "completed", "3": "abandoned", "4": "running", "5": "running"}, statuses); diff != "" {
			t.Errorf("runs after pruning (-want +got):\n%s", diff)
		}
		var leaseFreed bool
		if err := tx.QueryRow(ctx, `select lease_owner is null from scheduler.checkpoints where scenario = 'inactivity' and evaluation_date = current_date`).Scan(&leaseFreed); err != nil {
			t.Fatal(err)
		}
		if !leaseFreed {
			t.Error("the abandoned run's expired lease was not released")
		}
		var details int
		if err := tx.QueryRow(ctx, `select count(*) from cron.job_run_details where runid in (-101, -102)`).Scan(&details); err != nil {
			t.Fatal(err)
		}
		if details != 1 {
			t.Errorf("%d of the two test run details left, want the 6-day-old one only", details)
		}
		// Settings that would break re-runs of dates the HTTP contract accepts are refused.
		if _, err := tx.Exec(ctx, `savepoint s; update scheduler.ops_settings set history_days = 30`); err == nil {
			t.Error("history_days = 30 was accepted; re-runs up to 90 days back need their checkpoints")
		}
		mustExec(t, tx, `rollback to savepoint s`)
	})
}

// The retention, watchdog and continue jobs are scheduled once, by name, and a re-application keeps an
// operator's schedule.
func TestOperationsJobsScheduledOnce(t *testing.T) {
	conn := cronDatabase(t)
	ctx := context.Background()
	inRolledBackTx(t, conn, func(tx pgx.Tx) {
		mustExec(t, tx, `select scheduler.schedule_watchdog('*/5 * * * *')`)
		mustExec(t, tx, `select scheduler.schedule_continue('*/2 * * * *')`)
		for _, name := range []string{"scheduler_watchdog", "scheduler_retention_history", "continue_partial_runs"} {
			mustExec(t, tx, migrationSQL(t, name))
			mustExec(t, tx, migrationSQL(t, name))
		}
		rows, err := tx.Query(ctx, `select jobname || ' ' || schedule || ' ' || command from cron.job
			where jobname in ('scheduler-watchdog', 'scheduler-retention', 'scheduler-continue') order by jobname`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			"scheduler-continue */2 * * * * select scheduler.continue_partial()",
			"scheduler-retention 17 3 * * * select count(*) from scheduler.prune()",
			"scheduler-watchdog */5 * * * * select count(*) from scheduler.watchdog()",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("operations jobs (-want +got):\n%s", diff)
		}
	})
}

// migrationSQL is the text of the migration named name (the part of its file name after the version).
func migrationSQL(t *testing.T, name string) string {
	t.Helper()
	ms, err := postgres.LoadMigrations(supabase.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == name {
			return m.SQL
		}
	}
	t.Fatalf("no migration %s", name)
	return ""
}
