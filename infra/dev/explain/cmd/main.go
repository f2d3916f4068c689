// Command explain answers "why was (or wasn't) this mentor nudged?": for one mentor and evaluation date it
// prints, per scenario, whether the scheduler notified (or would notify) the mentor and, if not, why - not
// active, switched off for the organisation, a threshold not reached, a repeat spaced or capped, a cooldown,
// a level or rung already sent - and what push delivery did or would do (package infra/dev/explain, which reads
// scheduler.explain).
//
// Usage:
//
//	DATABASE_URL=postgres://... explain <mentor id or part of a name> [YYYY-MM-DD]
//
// The date defaults to today in the time zone of the mentor's organisation. DATABASE_URL is the project's
// database with a role that may execute scheduler.explain and scheduler.explain_mentor: postgres, or the
// function role (scenario_scheduler or a login member of it). `go tool task explain -- <mentor> [date]` runs it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/infra/dev/explain"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: explain <mentor id or part of a name> [YYYY-MM-DD]")
		os.Exit(2)
	}
	var date time.Time
	if len(os.Args) == 3 {
		d, err := time.Parse(time.DateOnly, os.Args[2])
		if err != nil {
			fmt.Fprintf(os.Stderr, "explain: date %q is not YYYY-MM-DD\n", os.Args[2])
			os.Exit(2)
		}
		date = d
	}
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		fmt.Fprintln(os.Stderr, "explain: DATABASE_URL is not set (the project's database, e.g. Supabase's postgres database)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "explain: connecting to %s: %v\n", postgres.RedactURL(url), err)
		os.Exit(1)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := run(ctx, conn, os.Args[1], date); err != nil {
		fmt.Fprintf(os.Stderr, "explain: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, conn *pgx.Conn, mentor string, date time.Time) error {
	r, err := explain.Explain(ctx, conn, mentor, date)
	if err != nil {
		return err
	}
	return r.Render(os.Stdout)
}
