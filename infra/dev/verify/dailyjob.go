package verify

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// DailyJob and DailySchedule are the job the original task names and its schedule: 06:00 UTC, 07:00 in
// Norway in winter (CET), 08:00 in summer (CEST). The migrations schedule it.
const (
	DailyJob      = "scenario-scheduler-daily"
	DailySchedule = "0 6 * * *"
)

// checkDailyJob is the checklist's first item, as the task words it: the daily job in cron.job with schedule
// 0 6 * * *. Where the operator chose another schedule (the daily job at another time, the hourly job, a
// split), that schedule is named and checked instead: every enabled scenario run by an active job.
func checkDailyJob(ctx context.Context, t Target) Result {
	r := Result{ID: "1", Title: "SELECT * FROM cron.job WHERE jobname = '" + DailyJob + "': schedule = '" + DailySchedule + "'"}
	return withConn(ctx, t, r, func(c *pgx.Conn) Result { return dailyJobResult(ctx, c, r, t) })
}

func dailyJobResult(ctx context.Context, q querier, r Result, t Target) Result {
	var hasCron bool
	if err := q.QueryRow(ctx, `select to_regclass('cron.job') is not null`).Scan(&hasCron); err != nil {
		return r.fail("querying the database: %v", err)
	}
	if !hasCron {
		return r.fail("pg_cron is not installed in this database: nothing calls the function (enable it, then apply the migrations again)")
	}
	type row struct {
		JobID                              int64
		Schedule, Command, Database, Owner string
		Active                             bool
	}
	rows, err := q.Query(ctx, `select jobid, schedule, command, database, username, active from cron.job
		where jobname = $1 and database = current_database()`, DailyJob)
	if err != nil {
		return r.fail("reading cron.job: %v", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return r.fail("reading cron.job: %v", err)
	}
	var ev strings.Builder
	fmt.Fprintf(&ev, "select * from cron.job where jobname = '%s';\njobid | schedule | command | database | username | active\n", DailyJob)
	for _, j := range found {
		fmt.Fprintf(&ev, "%d | %s | %s | %s | %s | %t\n", j.JobID, j.Schedule, j.Command, j.Database, j.Owner, j.Active)
	}
	if len(found) == 0 {
		ev.WriteString("(0 rows)\n")
	}
	ev.WriteString("\n")
	// Every scheduler job, in UTC and local time, and whether each enabled scenario is run (check 9's reading).
	cover := schedulesResult(ctx, q, Result{}, t.Secret, t.Now())
	ev.WriteString(cover.Evidence)
	r.Evidence = ev.String()
	if cover.Outcome == Fail {
		return r.fail("%s", cover.Detail)
	}
	switch {
	case len(found) == 1 && found[0].Schedule == DailySchedule && found[0].Active &&
		strings.Contains(found[0].Command, "scheduler.invoke("):
		return r.pass("%s is scheduled at %s (06:00 UTC = 07:00 CET, 08:00 CEST), active, calling scheduler.invoke() (URL and secret read from Vault); %s",
			DailyJob, DailySchedule, cover.Detail)
	case len(found) == 1 && !found[0].Active:
		return r.fail("%s is paused (active false): select cron.alter_job(%d, active => true);", DailyJob, found[0].JobID)
	}
	// The operator's own schedule: named, and checked by the coverage reading above.
	rows, err = q.Query(ctx, `select jobname || ' ' || schedule from cron.job
		where jobname like 'scenario-scheduler-%' and database = current_database() order by jobname`)
	if err != nil {
		return r.fail("reading cron.job: %v", err)
	}
	jobs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return r.fail("reading cron.job: %v", err)
	}
	if len(jobs) == 0 {
		return r.fail("no %s job and no other scheduler job: nothing calls the function (select * from scheduler.schedule_daily();)", DailyJob)
	}
	return r.pass("not %s at %s: the operator chose %s; checked instead: %s", DailyJob, DailySchedule, strings.Join(jobs, ", "), cover.Detail)
}
