package verify

import (
	"context"
	"net/http"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
)

// Target says what to verify.
type Target struct {
	// DatabaseURL is the project's database, where pg_cron runs (Supabase: the postgres database).
	DatabaseURL string
	// ScratchURL is a server on which a throw-away database may be created and dropped for the migration
	// check. Its user needs CREATEDB. Empty: the check is skipped (never the project's own server by default).
	ScratchURL string
	// FunctionURL is the deployed function's URL (what Vault's scenario_scheduler_url holds).
	FunctionURL string
	// HealthURL is the health endpoint (default: FunctionURL + "/healthz").
	HealthURL string
	// Secret is the function's SCHEDULER_SECRET.
	Secret string
	// Migrations are the project's migrations (supabase.Migrations, loaded).
	Migrations []postgres.Migration
	// Required are the configuration variables the function must report as set in its environment (check 4)
	// and its health endpoint as set.
	Required []string
	// Logs, where set, returns what the function has logged (the local stack's test captures it): check 4
	// then reads the cold-start configuration line too. Nil for a deployed function: the report says where
	// the line is.
	Logs func() string
	// PgDump is the pg_dump program for check 5's schema dumps (default "pg_dump"; it must match the scratch
	// server's major version).
	PgDump string
	// SupabaseCLI is the pinned Supabase CLI (infra/dev/supabase-cli) for check 5's `db push` twice; empty:
	// that half of the check fails, saying how to install it.
	SupabaseCLI string
	// Client makes the HTTP calls (default: a client with a 60 s timeout, above the function's 30 s).
	Client *http.Client
	// AnswerWait bounds the wait for pg_net's answer to the dry run (default 60 s, above pg_net's 45 s
	// timeout for scheduler.invoke()).
	AnswerWait time.Duration
	// StandIns accepts the test stand-in for pg_net (supabase/testdata) in check 7: only the local stack's
	// test sets it; the command never does.
	StandIns bool
	// Now is the clock for signatures and the report's date (default time.Now).
	Now func() time.Time
}

// DefaultRequired are the variables a deployed function must set. PUSH_SENDER is among them: a function
// without it refuses to start (earlier versions fell back to the log sender and marked unsent pushes sent).
var DefaultRequired = []string{"DATABASE_URL", "SCHEDULER_SECRET", "PUSH_SENDER"}

// Outcome of one check.
type Outcome string

// Outcomes.
const (
	// Pass: the target is as the checklist requires.
	Pass Outcome = "pass"
	// Fail: it is not, or the check could not find out (an unreachable target fails).
	Fail Outcome = "fail"
	// Skip: the check was not run (what it needs was not given); it does not fail the report.
	Skip Outcome = "skip"
)

// Result is one check's outcome with what it saw.
type Result struct {
	// ID numbers the check as in the checklist: 1 to 5 are the original task's, in its order; 6 on are the
	// project's own.
	ID string
	// Title says what the check proves.
	Title   string
	Outcome Outcome
	// Detail explains the outcome in one or a few sentences.
	Detail string
	// Evidence is what the check observed (a query result, a status line, a response excerpt), secrets
	// removed.
	Evidence string
}

// Report is the checklist's outcome.
type Report struct {
	// Database and Function are the target's URLs, passwords removed.
	Database, Function string
	// StartedAt is when the checks began (UTC); Duration how long they took.
	StartedAt time.Time
	Duration  time.Duration
	// Results are the checks' outcomes, in checklist order.
	Results []Result
}

// OK reports whether no check failed and at least one passed.
func (r Report) OK() bool {
	passed := false
	for _, c := range r.Results {
		if c.Outcome == Fail {
			return false
		}
		passed = passed || c.Outcome == Pass
	}
	return passed
}

// Run runs every check in order; a failing check does not stop the others.
func Run(ctx context.Context, t Target) Report {
	if t.Client == nil {
		t.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if t.Now == nil {
		t.Now = time.Now
	}
	if t.AnswerWait <= 0 {
		t.AnswerWait = 60 * time.Second
	}
	if t.Required == nil {
		t.Required = DefaultRequired
	}
	rep := Report{Database: postgres.RedactURL(t.DatabaseURL), Function: postgres.RedactURL(t.FunctionURL), StartedAt: t.Now().UTC()}
	start := time.Now()
	if t.PgDump == "" {
		t.PgDump = "pg_dump"
	}
	for _, check := range []func(context.Context, Target) Result{
		// The original task's checklist, in its order and words.
		checkDailyJob, checkAuthorisedCall, checkNoSecret, checkConfiguration, checkMigrationsTwice,
		// The project's own further checks.
		checkVault, checkPgNet, checkGrants, checkSchedules, checkOperationsJobs, checkDryRun,
		checkSignedCall, checkUnauthorised, checkHealth, checkEvaluationMode,
	} {
		r := check(ctx, t)
		r.Evidence = scrub(r.Evidence, t)
		r.Detail = scrub(r.Detail, t)
		rep.Results = append(rep.Results, r)
	}
	rep.Duration = time.Since(start)
	return rep
}
