package verify

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// querier is what the database checks read through: a connection, or a transaction in tests.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Vault entries scheduler.invoke() reads, and the watchdog's optional alert URL.
const (
	vaultURL      = "scenario_scheduler_url"
	vaultSecret   = "scenario_scheduler_secret"
	vaultAlertURL = "scenario_scheduler_alert_url"
)

// FunctionRole is the function's database role; IntendedFunctions are exactly the functions it may execute
// (supabase/migrations: scheduler_access and push_outbox grant them). Keep this list in step with the grants.
const FunctionRole = "scenario_scheduler"

// IntendedFunctions are the scheduler functions the function role executes, as regprocedure text: what the
// store calls, and scheduler.explain and explain_mentor for `task explain`. The signatures only an older
// function called are dropped one release after they were replaced (docs/architecture.md, "SQL signatures").
var IntendedFunctions = []string{
	"scheduler.check_source()",
	"scheduler.checkpoint_progress(date,text,integer,integer,text)",
	"scheduler.claim_checkpoint(uuid,date,text,integer,integer,integer,text)",
	"scheduler.claim_signature(text,timestamp with time zone)",
	"scheduler.claim_pushes(uuid,timestamp with time zone,date,integer,integer,integer)",
	"scheduler.delivery_backlog(timestamp with time zone)",
	"scheduler.enabled_scenarios()",
	"scheduler.evaluate_batch(uuid,text,date,uuid,integer,boolean,integer,integer,text)",
	"scheduler.evaluation_mode(date,text,integer,integer,text)",
	"scheduler.explain(uuid,date)",
	"scheduler.explain_mentor(text)",
	"scheduler.finish_run(uuid,text,integer,jsonb)",
	"scheduler.push_templates()",
	"scheduler.record_deliveries(uuid,jsonb,text[])",
	"scheduler.record_scenario_stats(text,integer,integer)",
	"scheduler.release_checkpoint(uuid,date,text,integer,integer,text)",
	"scheduler.remaining_mentors(uuid,integer,integer,text)",
	"scheduler.start_run(uuid,date,text,boolean,jsonb)",
}

// withConn connects to the target database for one check.
func withConn(ctx context.Context, t Target, r Result, f func(*pgx.Conn) Result) Result {
	conn, err := pgx.Connect(ctx, t.DatabaseURL)
	if err != nil {
		return r.fail("cannot connect to the database: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return f(conn)
}

func checkVault(ctx context.Context, t Target) Result {
	r := Result{ID: "6", Title: "Vault holds the function's URL and secret (names only, values never read out)"}
	return withConn(ctx, t, r, func(c *pgx.Conn) Result { return vaultResult(ctx, c, r) })
}

func vaultResult(ctx context.Context, q querier, r Result) Result {
	var hasVault bool
	if err := q.QueryRow(ctx, `select to_regclass('vault.decrypted_secrets') is not null`).Scan(&hasVault); err != nil {
		return r.fail("querying the database: %v", err)
	}
	if !hasVault {
		return r.fail("Supabase Vault is not installed in this database (vault.decrypted_secrets is missing)")
	}
	rows, err := q.Query(ctx, `select name, count(*)::int, bool_and(coalesce(decrypted_secret, '') <> '')
		from vault.decrypted_secrets where name = any ($1) group by name order by name`,
		[]string{vaultURL, vaultSecret, vaultAlertURL})
	if err != nil {
		return r.fail("reading Vault's entry names: %v", err)
	}
	type entry struct {
		Name     string
		Count    int
		NonEmpty bool
	}
	entries, err := pgx.CollectRows(rows, pgx.RowToStructByPos[entry])
	if err != nil {
		return r.fail("reading Vault's entry names: %v", err)
	}
	var ev strings.Builder
	ev.WriteString("name | entries | non-empty\n")
	found := map[string]bool{}
	for _, e := range entries {
		fmt.Fprintf(&ev, "%s | %d | %t\n", e.Name, e.Count, e.NonEmpty)
		found[e.Name] = e.NonEmpty
	}
	r.Evidence = ev.String()
	var missing []string
	for _, n := range []string{vaultURL, vaultSecret} {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return r.fail("missing Vault entry: %s (scheduler.invoke() cannot call the function; see docs/supabase.md)", strings.Join(missing, ", "))
	}
	if !found[vaultAlertURL] {
		return r.pass("%s and %s are set; no %s: the watchdog records alerts in scheduler.alerts but posts them nowhere",
			vaultURL, vaultSecret, vaultAlertURL)
	}
	return r.pass("%s, %s and the watchdog's %s are set", vaultURL, vaultSecret, vaultAlertURL)
}

func checkPgNet(ctx context.Context, t Target) Result {
	r := Result{ID: "7", Title: "pg_net is preloaded and its worker serves this database"}
	return withConn(ctx, t, r, func(c *pgx.Conn) Result { return pgNetResult(ctx, c, r, t.StandIns) })
}

func pgNetResult(ctx context.Context, q querier, r Result, standIns bool) Result {
	var (
		db, preload, comment string
		installed, hasNet    bool
		servesDB             *string
	)
	err := q.QueryRow(ctx, `select current_database(), current_setting('shared_preload_libraries'),
		current_setting('pg_net.database_name', true),
		exists (select 1 from pg_extension where extname = 'pg_net'),
		to_regnamespace('net') is not null,
		coalesce(obj_description(to_regnamespace('net'), 'pg_namespace'), '')`).
		Scan(&db, &preload, &servesDB, &installed, &hasNet, &comment)
	if err != nil {
		return r.fail("querying the database: %v", err)
	}
	serves := "postgres (pg_net's default)"
	if servesDB != nil && *servesDB != "" {
		serves = *servesDB
	}
	r.Evidence = fmt.Sprintf("database: %s\nshared_preload_libraries: %s\npg_net.database_name: %s\nextension pg_net installed: %t",
		db, preload, serves, installed)
	foreign, err := foreignNetTriggers(ctx, q)
	if err != nil {
		return r.fail("%v", err)
	}
	if problem := foreignTriggerProblem(foreign); problem != "" {
		return r.fail("%s", problem)
	}
	if hasNet && !installed && strings.Contains(comment, "STAND-IN") {
		if standIns {
			return r.pass("TEST STAND-IN for pg_net (the local stack; a test plays pg_net's worker): not a deployable state")
		}
		return r.fail("schema net is the test stand-in, not pg_net: never load supabase/testdata into a project")
	}
	preloaded := slices.ContainsFunc(strings.Split(preload, ","), func(s string) bool { return strings.TrimSpace(s) == "pg_net" })
	switch {
	case !installed:
		return r.fail("pg_net is not installed in database %s: create extension pg_net;", db)
	case !preloaded:
		return r.fail("pg_net is installed but not in shared_preload_libraries: its worker never sends a request")
	case strings.TrimSuffix(serves, " (pg_net's default)") != db:
		return r.fail("pg_net's worker serves database %s, not %s (pg_net.database_name): requests queued here are never sent", serves, db)
	}
	return r.pass("pg_net is installed, preloaded, and its worker serves database %s", db)
}

func checkGrants(ctx context.Context, t Target) Result {
	r := Result{ID: "8", Title: "the function role " + FunctionRole + " holds exactly the intended privileges"}
	return withConn(ctx, t, r, func(c *pgx.Conn) Result { return grantsResult(ctx, c, r) })
}

// grantsSQL lists the privileges the function role holds in the schemas the scheduler's data lives in and in
// Vault (functions in scheduler and vault, SECURITY DEFINER functions in public, tables and views, schema usage
// and create) and the role attributes of the role and its members.
const grantsSQL = `
with fn as (select oid from pg_roles where rolname = $1)
select 'execute ' || case when p.oid::regprocedure::text like n.nspname || '.%' then p.oid::regprocedure::text
                          else n.nspname || '.' || p.oid::regprocedure::text end
from pg_proc p join pg_namespace n on n.oid = p.pronamespace, fn
where (p.pronamespace in (select oid from pg_namespace where nspname in ('scheduler', 'vault'))
       -- In public only SECURITY DEFINER functions matter: an invoker function can do no more than the role.
       or (p.pronamespace = 'public'::regnamespace and p.prosecdef))
  and has_function_privilege(fn.oid, p.oid, 'execute')
union all
select priv || ' on ' || c.relnamespace::regnamespace::text || '.' || c.relname
from pg_class c, fn, unnest(array['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger']) priv
where c.relnamespace in (select oid from pg_namespace where nspname in ('scheduler', 'public', 'vault'))
  and c.relkind in ('r', 'v', 'm', 'p', 'f')
  and has_table_privilege(fn.oid, c.oid, priv)
union all
select priv || ' on schema ' || n.nspname
from pg_namespace n, fn, unnest(array['usage', 'create']) priv
where n.nspname in ('scheduler', 'public', 'vault') and has_schema_privilege(fn.oid, n.oid, priv)
union all
select 'role attribute ' || a || ' (' || r.rolname || ')'
from pg_roles r, fn, lateral (values ('superuser', r.rolsuper), ('bypassrls', r.rolbypassrls),
  ('createrole', r.rolcreaterole), ('createdb', r.rolcreatedb)) v(a, has)
where (r.oid = fn.oid or r.oid in (select m.member from pg_auth_members m where m.roleid = fn.oid)) and v.has
order by 1`

func grantsResult(ctx context.Context, q querier, r Result) Result {
	var exists bool
	if err := q.QueryRow(ctx, `select exists (select 1 from pg_roles where rolname = $1)`, FunctionRole).Scan(&exists); err != nil {
		return r.fail("querying the database: %v", err)
	}
	if !exists {
		return r.fail("role %s does not exist: apply the migrations", FunctionRole)
	}
	rows, err := q.Query(ctx, grantsSQL, FunctionRole)
	if err != nil {
		return r.fail("listing the function role's privileges: %v", err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return r.fail("listing the function role's privileges: %v", err)
	}
	want := map[string]bool{"usage on schema scheduler": true}
	for _, f := range IntendedFunctions {
		want["execute "+f] = true
	}
	// PUBLIC's usage on schema public is PostgreSQL's default and carries no table privilege by itself.
	want["usage on schema public"] = true
	var extra, missing []string
	for _, h := range held {
		if !want[h] {
			extra = append(extra, h)
		}
	}
	for w := range want {
		if !slices.Contains(held, w) && w != "usage on schema public" {
			missing = append(missing, w)
		}
	}
	slices.Sort(missing)
	r.Evidence = strings.Join(held, "\n")
	switch {
	case len(extra) > 0:
		return r.fail("the function role holds more than intended: %s", strings.Join(extra, "; "))
	case len(missing) > 0:
		return r.fail("the function role lacks: %s", strings.Join(missing, "; "))
	}
	return r.pass("usage on schema scheduler and execute on exactly the %d functions the store calls; no table privilege, no Vault, no role attribute",
		len(IntendedFunctions))
}

func checkSchedules(ctx context.Context, t Target) Result {
	r := Result{ID: "9", Title: "every enabled scenario is covered by an active cron job (times in UTC and local time)"}
	return withConn(ctx, t, r, func(c *pgx.Conn) Result { return schedulesResult(ctx, c, r, t.Secret, t.Now()) })
}

func schedulesResult(ctx context.Context, q querier, r Result, secret string, now time.Time) Result {
	var hasCron, hasFacts bool
	var tz string
	if err := q.QueryRow(ctx, `select to_regclass('cron.job') is not null,
		to_regprocedure('scheduler.scenario_schedule(date)') is not null,
		coalesce((select time_zone from scheduler.ops_settings), 'Europe/Oslo')`).Scan(&hasCron, &hasFacts, &tz); err != nil {
		return r.fail("querying the database (are the migrations applied?): %v", err)
	}
	if !hasCron {
		return r.fail("pg_cron is not installed in this database: nothing calls the function (enable it, then apply the migrations again)")
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return r.fail("scheduler.ops_settings.time_zone %q: %v", tz, err)
	}
	today := now.In(loc).Format(time.DateOnly)
	rows, err := q.Query(ctx, `select j.jobname, j.schedule, j.active, array_to_string(j.scenarios, ', '), coalesce(j.fires, '{}'), j.fires is not null,
		coalesce((select c.command::text from cron.job c where c.jobname = j.jobname and c.database = current_database() limit 1), '')
		from scheduler.job_schedule($1::date) j order by j.jobname`, today)
	if err != nil {
		return r.fail("reading the scheduler's cron jobs: %v", err)
	}
	var ev strings.Builder
	ev.WriteString("job | schedule (UTC) | active | scenarios | fires on " + today + ", UTC | local time (" + tz + ")\n")
	type jobRow struct {
		name, schedule, scenarios, command string
		active, readable                   bool
		fires                              []time.Time
	}
	var jobs []jobRow
	for rows.Next() {
		var j jobRow
		if err := rows.Scan(&j.name, &j.schedule, &j.active, &j.scenarios, &j.fires, &j.readable, &j.command); err != nil {
			return r.fail("reading the scheduler's cron jobs: %v", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return r.fail("reading the scheduler's cron jobs: %v", err)
	}
	for _, j := range jobs {
		var utc, local []string
		for _, f := range j.fires {
			utc = append(utc, f.UTC().Format("15:04"))
			local = append(local, f.In(loc).Format("15:04"))
		}
		when, lwhen := strings.Join(utc, " "), strings.Join(local, " ")
		switch {
		case !j.readable:
			when, lwhen = "(not a daily schedule)", "-"
		case len(j.fires) == 0:
			// The hourly job created late in the day: its next call is on the next local day.
			when, lwhen = "(none left on this day)", "-"
		}
		fmt.Fprintf(&ev, "%s | %s | %t | %s | %s | %s\n", j.name, j.schedule, j.active, j.scenarios, when, lwhen)
		if secret != "" && strings.Contains(j.command, secret) {
			r.Evidence = ev.String()
			return r.fail("the command of cron job %s contains the secret", j.name)
		}
	}
	rows, err = q.Query(ctx, `select scenario from scheduler.scenario_schedule($1::date) where jobs = '{}'`, today)
	if err != nil {
		return r.fail("reading the scenarios' coverage: %v", err)
	}
	uncovered, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return r.fail("reading the scenarios' coverage: %v", err)
	}
	unknown, err := localRuns(ctx, q, now, &ev)
	if err != nil {
		return r.fail("reading the organisations' next local runs: %v", err)
	}
	r.Evidence = ev.String()
	if len(uncovered) > 0 {
		return r.fail("no active cron job runs %s: they never run (restore with scheduler.schedule_hourly(), scheduler.schedule_daily() or a split that names them)",
			strings.Join(uncovered, ", "))
	}
	if len(unknown) > 0 {
		return r.fail("the time zone of %s is unknown: the hourly job never runs it (scheduler_source.organisations.timezone must be an IANA name such as Europe/Oslo)",
			strings.Join(unknown, ", "))
	}
	return r.pass("every enabled scenario is run by an active job; %d scheduler job(s), no secret in any command", len(jobs))
}

// localRuns appends each organisation's next local run (scheduler.next_local_runs) to ev and returns the
// organisations whose time zone is unknown. A database migrated before local time has none to show.
func localRuns(ctx context.Context, q querier, now time.Time, ev *strings.Builder) ([]string, error) {
	var has bool
	if err := q.QueryRow(ctx, `select to_regprocedure('scheduler.next_local_runs(timestamptz)') is not null`).Scan(&has); err != nil || !has {
		return nil, err
	}
	rows, err := q.Query(ctx, `select coalesce(organisation, organisation_id::text), time_zone, send_hour, state,
		coalesce(to_char(next_run_local, 'YYYY-MM-DD HH24:MI'), '-'),
		coalesce(to_char(next_run_utc at time zone 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC', '-')
		from scheduler.next_local_runs($1)`, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ev.WriteString("\norganisation | time zone | send hour | next local run | UTC | state\n")
	var unknown []string
	for rows.Next() {
		var org, zone, state, local, utc string
		var hour int
		if err := rows.Scan(&org, &zone, &hour, &state, &local, &utc); err != nil {
			return nil, err
		}
		fmt.Fprintf(ev, "%s | %s | %02d | %s | %s | %s\n", org, zone, hour, local, utc, state)
		if state == "unknown time zone" {
			unknown = append(unknown, org)
		}
	}
	return unknown, rows.Err()
}

func checkOperationsJobs(ctx context.Context, t Target) Result {
	r := Result{ID: "10", Title: "the watchdog, retention and continue jobs are active"}
	return withConn(ctx, t, r, func(c *pgx.Conn) Result { return operationsJobsResult(ctx, c, r) })
}

// operationsJobs are the jobs the migrations schedule beside the chosen schedule, each with the call that
// restores it.
var operationsJobs = map[string]string{
	"scheduler-continue":  "select scheduler.schedule_continue();",
	"scheduler-retention": "select scheduler.schedule_retention();",
	"scheduler-watchdog":  "select scheduler.schedule_watchdog();",
}

func operationsJobsResult(ctx context.Context, q querier, r Result) Result {
	var hasCron bool
	if err := q.QueryRow(ctx, `select to_regclass('cron.job') is not null`).Scan(&hasCron); err != nil {
		return r.fail("querying the database: %v", err)
	}
	if !hasCron {
		return r.fail("pg_cron is not installed in this database")
	}
	rows, err := q.Query(ctx, `select jobname::text, jobname::text || ' | ' || schedule::text || ' | ' || active::text from cron.job
		where jobname in ('scheduler-watchdog', 'scheduler-retention', 'scheduler-continue') and database = current_database() and active
		order by jobname`)
	if err != nil {
		return r.fail("reading cron.job: %v", err)
	}
	type row struct{ Name, Line string }
	active, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return r.fail("reading cron.job: %v", err)
	}
	var lines []string
	found := map[string]bool{}
	for _, a := range active {
		lines = append(lines, a.Line)
		found[a.Name] = true
	}
	r.Evidence = "job | schedule (UTC) | active\n" + strings.Join(lines, "\n")
	var missing, restore []string
	for _, name := range slices.Sorted(maps.Keys(operationsJobs)) {
		if !found[name] {
			missing, restore = append(missing, name), append(restore, operationsJobs[name])
		}
	}
	if len(missing) > 0 {
		return r.fail("not active: %s; restore with %s (the continue job continues partial runs within a minute; "+
			"to turn that off keep the job and set scheduler.ops_settings.continue_max = 0)",
			strings.Join(missing, ", "), strings.Join(restore, " "))
	}
	return r.pass("scheduler-watchdog, scheduler-retention and scheduler-continue are scheduled and active")
}
