// Package verify runs the deployment checklist of the scenario scheduler against a target (a database and
// a function URL) and renders the outcome as a Markdown report. In the project's database:
//
//  1. Vault holds scenario_scheduler_url and scenario_scheduler_secret (names only; values are never read
//     out) and, optionally, the watchdog's scenario_scheduler_alert_url;
//  2. pg_net is installed, preloaded, and its worker serves this database (pg_net.database_name), and no
//     trigger other than the scheduler's guards sits on its tables (scheduler.invoke() refuses to queue then);
//  3. the function role scenario_scheduler holds exactly the intended privileges (IntendedFunctions);
//  4. every enabled scenario is run by an active cron job; the schedules are reported in UTC and local time
//     (scheduler.job_schedule), whatever expression, split, catch-up or hourly job the operator chose, with
//     each organisation's next local run (scheduler.next_local_runs); an organisation whose time zone is
//     unknown fails the check;
//  5. the watchdog and retention jobs are active;
//  6. a dry run through scheduler.invoke() and pg_net gets 200 with a report, or a diagnosis: the Vault
//     secret does not match the function's (401), the URL in Vault is unreachable from the database, a
//     timeout, a missing Vault entry, or no answer from pg_net's worker.
//
// Then against the function directly: 7 a call with the secret (7b signed as pg_cron signs) answers 200 with
// a valid report; 8 a call without the secret, or with a wrong one, answers 401; 9 the health endpoint names
// the configuration as set or unset, never values. Last, 10: the migrations applied twice to a scratch
// database on an explicitly given scratch server give the same schema (skipped without one).
//
// Each check reports pass, fail or skip with the evidence it saw; nothing secret goes into the report. The
// command infra/dev/verify/cmd (`task verify`) wires it to flags and environment variables.
package verify
