// Command verify runs the deployment checklist (package infra/dev/verify) against a deployed scenario scheduler
// and writes a Markdown report. It exits 0 when no check fails (the migration check is skipped without a
// scratch server), 1 otherwise. The original task's five checks come first, in its order; then the project's
// own. Its calls are dry runs (by hand, and one through scheduler.invoke() and pg_net): nothing is written but
// the runs' history rows.
//
// Usage:
//
//	verify [-database-url URL] [-scratch-url URL] -function-url URL [-health-url URL] [-answer-wait 60s]
//	       [-pg-dump PATH] [-supabase-cli PATH] [-out FILE]
//
// Each flag falls back to an environment variable: VERIFY_DATABASE_URL (then DATABASE_URL),
// VERIFY_SCRATCH_URL, VERIFY_FUNCTION_URL, VERIFY_HEALTH_URL, VERIFY_PG_DUMP, SUPABASE_CLI. The secret is read only from the
// environment (VERIFY_SECRET, then SCHEDULER_SECRET), never from a flag, so that it stays out of shell
// history and process lists.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/infra/dev/verify"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// pinnedCLI is where `go tool task setup:supabase` installs the pinned Supabase CLI (task runs verify from the
// repository's root).
const pinnedCLI = "infra/dev/supabase-cli/node_modules/.bin/supabase"

func main() {
	env := func(names ...string) string {
		for _, n := range names {
			if v := os.Getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	var t verify.Target
	flag.StringVar(&t.DatabaseURL, "database-url", env("VERIFY_DATABASE_URL", "DATABASE_URL"),
		"the project's database, where pg_cron runs (Supabase: the postgres database, direct connection)")
	flag.StringVar(&t.ScratchURL, "scratch-url", env("VERIFY_SCRATCH_URL"),
		"a scratch server where a throw-away database may be created for the migration check (none: the check is skipped; never the project's server by default)")
	flag.StringVar(&t.FunctionURL, "function-url", env("VERIFY_FUNCTION_URL"), "the deployed function's URL")
	flag.StringVar(&t.HealthURL, "health-url", env("VERIFY_HEALTH_URL"), "the health endpoint (default: function URL + /healthz)")
	flag.DurationVar(&t.AnswerWait, "answer-wait", 60*time.Second, "how long to wait for pg_net's answer to the dry run")
	flag.StringVar(&t.PgDump, "pg-dump", env("VERIFY_PG_DUMP"), "pg_dump of the scratch server's major version, for check 5 (default: pg_dump in PATH)")
	flag.StringVar(&t.SupabaseCLI, "supabase-cli", env("SUPABASE_CLI"),
		"the pinned Supabase CLI, for check 5's db push twice (default: infra/dev/supabase-cli's, installed by go tool task setup:supabase)")
	out := flag.String("out", "verify-report.md", "where to write the Markdown report (- for standard output)")
	flag.Parse()
	t.Secret = env("VERIFY_SECRET", "SCHEDULER_SECRET")
	if t.SupabaseCLI == "" {
		if _, err := os.Stat(pinnedCLI); err == nil {
			t.SupabaseCLI = pinnedCLI
		}
	}

	var missing []string
	if t.DatabaseURL == "" {
		missing = append(missing, "-database-url (or VERIFY_DATABASE_URL / DATABASE_URL)")
	}
	if t.FunctionURL == "" {
		missing = append(missing, "-function-url (or VERIFY_FUNCTION_URL)")
	}
	if t.Secret == "" {
		missing = append(missing, "VERIFY_SECRET or SCHEDULER_SECRET in the environment")
	}
	if len(missing) > 0 {
		fmt.Fprintln(os.Stderr, "verify: missing:")
		for _, m := range missing {
			fmt.Fprintln(os.Stderr, "  "+m)
		}
		flag.Usage()
		os.Exit(2)
	}
	ms, err := postgres.LoadMigrations(supabase.Migrations)
	if err != nil {
		fmt.Fprintf(os.Stderr, "verify: %v\n", err)
		os.Exit(2)
	}
	t.Migrations = ms

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep := verify.Run(ctx, t)
	md := rep.Markdown()
	if *out == "-" {
		fmt.Print(md)
	} else if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "verify: writing the report: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprint(os.Stderr, rep.Summary())
	if !rep.OK() {
		os.Exit(1)
	}
}
