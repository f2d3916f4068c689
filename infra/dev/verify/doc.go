// Package verify runs the deployment checklist of the scenario scheduler against a target (a database and
// a function URL) and renders the outcome as a Markdown report.
//
// First the original task's verification checklist, in its order and words:
//
//  1. SELECT * FROM cron.job WHERE jobname = 'scenario-scheduler-daily': schedule = '0 6 * * *', active,
//     calling scheduler.invoke() (which reads the URL and secret from Vault). Where the operator chose another
//     schedule (the hourly job, another time, a split), that schedule is named and checked instead: every
//     enabled scenario run by an active job, in UTC and local time.
//  2. A call by hand with the correct secret answers 200 with a valid JSON report. It is a dry run: the
//     database's notifications, sent pushes and checkpoints are compared before and after (only the dry run's
//     own history row is written).
//  3. A call without the secret answers 401; nothing is written (runs, notifications, checkpoints compared).
//  4. Every configuration variable is set, as the function reports it on invocation: its dry-run answer names
//     each variable and where its value came from (environment, default, unset; never a value), as its
//     cold-start log line does (compared too where the log is at hand: Target.Logs).
//  5. The migrations run twice are idempotent, on a scratch server given explicitly (skipped without one):
//     every file applied a second time changes neither the catalog nor pg_dump --schema-only, and a second
//     `supabase db push` (the pinned CLI) applies nothing.
//
// Then the project's own checks: 6 Vault holds the URL and secret (names only); 7 pg_net is installed,
// preloaded and serves this database, and no trigger other than the scheduler's guards sits on its tables
// (scheduler.invoke() refuses to queue then); 8 the function role holds exactly the intended privileges
// (IntendedFunctions); 9 every enabled scenario is run by an active job, with each organisation's next local
// run; 10 the watchdog and retention jobs are active; 11 a dry run through scheduler.invoke() and pg_net gets
// 200, or a diagnosis (401: the Vault secret does not match, unreachable URL, timeout, missing Vault entry, no
// answer from pg_net's worker); 12 a call signed as pg_cron signs answers 200; 13 a wrong secret or a stale
// signature answers 401; 14 the health endpoint names the configuration as set or unset, never values.
//
// Each check reports pass, fail or skip with the evidence it saw; nothing secret goes into the report. The
// command infra/dev/verify/cmd (`task verify`) wires it to flags and environment variables.
package verify
