// Package status reads the scenario scheduler's run history from its database (the scheduler.run_history
// view, scheduler.alerts, scheduler.next_runs(), scheduler.next_local_runs(), the continue job with the
// partial runs it continues (scheduler.partial_parts()) and any foreign trigger on pg_net's tables, which
// stops every call) and renders it for a terminal: "did last week's runs work,
// and if not why?" in one command (`go tool task status`).
package status

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/infra/dev/verify"
)

// Day is one row of scheduler.run_history: one local day.
type Day struct {
	Date time.Time
	// Status is completed, partial, failed (runs but no scenario started) or "no run".
	Status string
	// Scenarios lists each enabled scenario with completed, partial or missing.
	Scenarios string
	Evaluated int64
	Notified  int64
	// Runs counts the day's runs that were not dry runs; Duration is their total time.
	Runs     int64
	Duration *int64
	// Answers summarises pg_net's answers to the day's requests ("200 x1, 401 x2"), empty without requests.
	Answers string
	// OpenAlerts lists the day's unresolved watchdog problems.
	OpenAlerts string
}

// Alert is an unresolved problem the watchdog recorded.
type Alert struct {
	Date            time.Time
	Problem, Detail string
	FirstSeen       time.Time
}

// Job is a scheduler cron job with its next firing (nil: paused or not a daily schedule).
type Job struct {
	Name, Schedule string
	Active         bool
	Scenarios      []string
	Next           *time.Time
}

// LocalRun is one organisation's next local run (scheduler.next_local_runs): its time zone, send hour and
// slot, the local date it evaluates and when. State is scheduled, due (the send hour has passed and the
// date is not complete) or "unknown time zone".
type LocalRun struct {
	Organisation, TimeZone string
	SendHour               int
	Slot                   string
	LocalDate              *time.Time
	Local                  *time.Time
	UTC                    *time.Time
	State                  string
}

// Continuation is the continue job (scheduler-continue) and what it does with the runs the last day left
// incomplete (scheduler.partial_parts).
type Continuation struct {
	// Job is "<schedule> | <active>" of the cron job scheduler-continue, empty where it does not exist.
	Job string
	// Max is scheduler.ops_settings.continue_max: continuations per part at most (0: none).
	Max int
	// Parts are the incomplete parts: date, slot, shard layout, scenarios, state, continuations so far.
	Parts []string
}

// History is everything status prints.
type History struct {
	// TimeZone is scheduler.ops_settings.time_zone, the zone of the dates and of the local times.
	TimeZone string
	// Cron reports whether pg_cron is installed in this database.
	Cron   bool
	Days   []Day
	Alerts []Alert
	Jobs   []Job
	// Local is each organisation's next local run; Hourly says whether the hourly job is active (without
	// it, the organisations run when the daily job fires, not at their send hours).
	Local  []LocalRun
	Hourly bool
	// ForeignTriggers are the triggers on pg_net's tables other than the scheduler's guards, each with its
	// function and the table's owner: while one is there scheduler.invoke() refuses to queue and nothing runs.
	ForeignTriggers []string
	// Continue is the continue job and the partial runs; nil in a database migrated before it existed.
	Continue *Continuation
	// Modes is how today's whole-project run evaluates each scenario (incremental or full, and why).
	Modes []verify.ModeLine
}

// Read loads the history through conn (a role that may read the scheduler schema, e.g. postgres).
func Read(ctx context.Context, conn *pgx.Conn) (History, error) {
	var h History
	if err := conn.QueryRow(ctx, `select s.time_zone, to_regclass('cron.job') is not null from scheduler.ops_settings s`).
		Scan(&h.TimeZone, &h.Cron); err != nil {
		return h, fmt.Errorf("reading scheduler.ops_settings (are the migrations applied?): %w", err)
	}
	rows, err := conn.Query(ctx, `select day, status, scenarios, evaluated, notified, runs, duration_ms,
		coalesce(answers, ''), coalesce(open_alerts, '') from scheduler.run_history order by day desc`)
	if err != nil {
		return h, fmt.Errorf("reading scheduler.run_history: %w", err)
	}
	if h.Days, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Day]); err != nil {
		return h, fmt.Errorf("reading scheduler.run_history: %w", err)
	}
	rows, err = conn.Query(ctx, `select day, problem, detail, first_seen from scheduler.alerts
		where resolved_at is null order by day desc, id`)
	if err != nil {
		return h, fmt.Errorf("reading scheduler.alerts: %w", err)
	}
	if h.Alerts, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Alert]); err != nil {
		return h, fmt.Errorf("reading scheduler.alerts: %w", err)
	}
	rows, err = conn.Query(ctx, `select jobname, schedule, active, scenarios, next_fire from scheduler.next_runs()`)
	if err != nil {
		return h, fmt.Errorf("reading the cron jobs: %w", err)
	}
	if h.Jobs, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Job]); err != nil {
		return h, fmt.Errorf("reading the cron jobs: %w", err)
	}
	for _, j := range h.Jobs {
		h.Hourly = h.Hourly || (j.Name == "scenario-scheduler-hourly" && j.Active)
	}
	if err := h.readForeignTriggers(ctx, conn); err != nil {
		return h, err
	}
	if err := h.readContinuation(ctx, conn); err != nil {
		return h, err
	}
	if h.Modes, err = verify.ReadModes(ctx, conn); err != nil {
		return h, err
	}
	// Each organisation's local time (a database migrated before it has no such function).
	var local bool
	if err := conn.QueryRow(ctx, `select to_regprocedure('scheduler.next_local_runs(timestamptz)') is not null`).Scan(&local); err != nil || !local {
		return h, err
	}
	rows, err = conn.Query(ctx, `select coalesce(organisation, organisation_id::text), time_zone, send_hour, slot, local_date,
		next_run_local, next_run_utc, state from scheduler.next_local_runs()`)
	if err != nil {
		return h, fmt.Errorf("reading the organisations' next local runs: %w", err)
	}
	if h.Local, err = pgx.CollectRows(rows, pgx.RowToStructByPos[LocalRun]); err != nil {
		return h, fmt.Errorf("reading the organisations' next local runs: %w", err)
	}
	return h, nil
}

// Render writes the history as aligned text.
func (h History) Render(w io.Writer) error {
	loc, err := time.LoadLocation(h.TimeZone)
	if err != nil {
		return fmt.Errorf("time zone %q: %w", h.TimeZone, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Scenario scheduler, the last %d days (dates in %s)\n\n", len(h.Days), h.TimeZone)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DATE\tSTATUS\tSCENARIOS\tEVALUATED\tNOTIFIED\tRUNS\tDURATION\tPG_NET ANSWERS\tOPEN ALERTS")
	for _, d := range h.Days {
		dur := "-"
		if d.Duration != nil {
			dur = (time.Duration(*d.Duration) * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", d.Date.Format(time.DateOnly), d.Status, d.Scenarios,
			d.Evaluated, d.Notified, d.Runs, dur, dash(d.Answers), dash(d.OpenAlerts))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(h.ForeignTriggers) > 0 {
		b.WriteString("\nNOTHING RUNS: pg_net's tables carry a trigger the scheduler does not expect, and scheduler.invoke() refuses to queue\n" +
			"while it is there. Neither postgres nor the function role can drop it: ask the owner of schema net (on hosted\n" +
			"Supabase the platform's support) to drop it (docs/operations.md, foreign_trigger):\n")
		for _, f := range h.ForeignTriggers {
			fmt.Fprintf(&b, "  %s\n", f)
		}
	}
	b.WriteString("\nOpen alerts (docs/operations.md says what each means and what to do):\n")
	if len(h.Alerts) == 0 {
		b.WriteString("  none\n")
	}
	for _, a := range h.Alerts {
		fmt.Fprintf(&b, "  %s %s: %s (first seen %s)\n", a.Date.Format(time.DateOnly), a.Problem, a.Detail,
			a.FirstSeen.In(loc).Format("2006-01-02 15:04 MST"))
	}
	b.WriteString("\nNext scheduled runs:\n")
	switch {
	case !h.Cron:
		b.WriteString("  pg_cron is not installed in this database: nothing calls the function\n")
	case len(h.Jobs) == 0:
		b.WriteString("  no scheduler cron job: select * from scheduler.schedule_daily(); (the default, 06:00 UTC), or scheduler.schedule_hourly() for organisations in several time zones\n")
	}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, j := range h.Jobs {
		next := "paused"
		if j.Active {
			next = "not a daily schedule"
		}
		if j.Next != nil {
			next = j.Next.UTC().Format("2006-01-02 15:04 UTC") + "\t" + j.Next.In(loc).Format("15:04 MST") + " " + h.TimeZone
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t(%s)\n", j.Name, j.Schedule, next, strings.Join(j.Scenarios, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nEvaluation mode: %s\n", verify.SummariseModes(h.Modes))
	h.renderContinuation(&b)
	h.renderLocal(&b)
	_, err = io.WriteString(w, b.String())
	return err
}

// readContinuation reads the continue job and scheduler.partial_parts(); a database migrated before they
// existed has neither.
func (h *History) readContinuation(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	if err := conn.QueryRow(ctx, `select to_regprocedure('scheduler.partial_parts(timestamptz, integer)') is not null`).Scan(&exists); err != nil || !exists {
		return err
	}
	c := Continuation{}
	if err := conn.QueryRow(ctx, `select continue_max from scheduler.ops_settings`).Scan(&c.Max); err != nil {
		return fmt.Errorf("reading scheduler.ops_settings: %w", err)
	}
	if h.Cron {
		if err := conn.QueryRow(ctx, `select coalesce((select schedule::text || ' | ' || active::text from cron.job
			where jobname = 'scheduler-continue' and database = current_database()), '')`).Scan(&c.Job); err != nil {
			return fmt.Errorf("reading the continue job: %w", err)
		}
	}
	rows, err := conn.Query(ctx, `select evaluation_date || ' ' || coalesce(nullif(slot, ''), 'whole project') || ' '
		|| case when shards > 1 then shards || ' shards ' else '' end
		|| '(' || coalesce(array_to_string(scenarios, ', '), 'all scenarios') || '): ' || state
		|| ', ' || continuations || ' continuation(s)' from scheduler.partial_parts()`)
	if err != nil {
		return fmt.Errorf("reading scheduler.partial_parts(): %w", err)
	}
	if c.Parts, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return fmt.Errorf("reading scheduler.partial_parts(): %w", err)
	}
	h.Continue = &c
	return nil
}

// renderContinuation says whether partial runs are continued within a minute, and which are incomplete.
func (h History) renderContinuation(b *strings.Builder) {
	c := h.Continue
	if c == nil {
		return
	}
	b.WriteString("\nPartial runs (continued by the cron job scheduler-continue; docs/supabase.md, Partial runs continue):\n")
	switch {
	case !h.Cron:
		b.WriteString("  pg_cron is not installed in this database: a partial run waits for the next call of its schedule\n")
	case c.Job == "":
		b.WriteString("  no scheduler-continue job: a partial run waits for the next call of its schedule; select * from scheduler.schedule_continue();\n")
	case strings.HasSuffix(c.Job, "| false"):
		b.WriteString("  scheduler-continue is paused: a partial run waits for the next call of its schedule\n")
	case c.Max == 0:
		b.WriteString("  turned off (scheduler.ops_settings.continue_max = 0)\n")
	default:
		fmt.Fprintf(b, "  scheduler-continue %s UTC, at most %d continuation(s) per part\n", strings.TrimSuffix(c.Job, " | true"), c.Max)
	}
	if len(c.Parts) == 0 {
		b.WriteString("  none incomplete in the last day\n")
	}
	for _, p := range c.Parts {
		fmt.Fprintf(b, "  %s\n", p)
	}
}

// readForeignTriggers reads scheduler.foreign_net_trigger_list() (the watchdog's foreign_trigger) from the
// catalog, so that status shows such a trigger even where the watchdog job does not run. A database migrated
// before the list existed has none to show.
func (h *History) readForeignTriggers(ctx context.Context, conn *pgx.Conn) error {
	var has bool
	if err := conn.QueryRow(ctx, `select to_regprocedure('scheduler.foreign_net_trigger_list()') is not null`).Scan(&has); err != nil || !has {
		return err
	}
	rows, err := conn.Query(ctx, `select format('drop trigger %s on %s (function %s; %s owns the table)', trigger_name, table_name,
		function_name, owner) from scheduler.foreign_net_trigger_list()`)
	if err != nil {
		return fmt.Errorf("reading the triggers on pg_net's tables: %w", err)
	}
	if h.ForeignTriggers, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return fmt.Errorf("reading the triggers on pg_net's tables: %w", err)
	}
	return nil
}

// renderLocal writes each organisation's next local run.
func (h History) renderLocal(b *strings.Builder) {
	if len(h.Local) == 0 {
		return
	}
	b.WriteString("\nEach organisation's next local run (its time zone and send hour):\n")
	if !h.Hourly {
		b.WriteString("  (no active hourly job: every organisation runs when the jobs above fire, for the function's date; organisations in several time zones: select * from scheduler.schedule_hourly(); runs each at its send hour)\n")
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, l := range h.Local {
		when := "-"
		if l.LocalDate != nil && l.Local != nil && l.UTC != nil {
			when = fmt.Sprintf("%s\t%s local\t%s", l.LocalDate.Format(time.DateOnly), l.Local.Format("15:04"),
				l.UTC.UTC().Format("2006-01-02 15:04 UTC"))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%02d:00\t%s\t%s\n", l.Organisation, l.TimeZone, l.SendHour, when, l.State)
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
