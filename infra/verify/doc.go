// Package verify runs the deployment checklist of the scenario scheduler against a target (a database and
// a function URL) and renders the outcome as a Markdown report:
//
//  1. cron.job holds exactly one scenario-scheduler-daily job, 0 6 * * *, calling scheduler.invoke();
//  2. a call with the shared secret answers 200 with a valid JSON report (a dry run: nothing is written but
//     the run's history row), and a call signed the way pg_cron signs it does too;
//  3. a call without the secret, or with a wrong one, answers 401;
//  4. the health endpoint names the function's configuration variables as set or unset, never their values,
//     and the required ones are set;
//  5. the migrations applied twice to a scratch database give the same schema (a catalog snapshot).
//
// Each check reports pass or fail with the evidence it saw; nothing secret goes into the report. The
// command infra/cmd/verify (`task verify`) wires it to flags and environment variables.
package verify
