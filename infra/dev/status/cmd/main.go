// Command status prints the scenario scheduler's last 14 days from its database: per day the status of each
// scenario, counts, run time, pg_net's answers to the day's requests and open alerts; then the open alerts and
// the next scheduled runs in UTC and local time (package infra/dev/status).
//
// Usage:
//
//	DATABASE_URL=postgres://... status [--effectiveness [-from YYYY-MM-DD] [-to YYYY-MM-DD]]
//
// --effectiveness prints the nudges' effectiveness report instead (scheduler.effectiveness: per organisation,
// scenario and week, the nudged group against the holdout; docs/operations.md), by default for the 12 weeks
// up to today.
//
// DATABASE_URL is the project's database with a role that may read the scheduler schema (Supabase: postgres,
// where pg_cron runs). `go tool task status` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/infra/dev/status"
)

func main() {
	effectiveness := flag.Bool("effectiveness", false, "print the nudges' effectiveness report (nudged vs. held out) instead")
	fromFlag := flag.String("from", "", "effectiveness: the first evaluation date (default: 12 weeks before -to)")
	toFlag := flag.String("to", "", "effectiveness: the last evaluation date (default: today)")
	flag.Parse()
	to := time.Now().UTC().Truncate(24 * time.Hour)
	if *toFlag != "" {
		t, err := time.Parse(time.DateOnly, *toFlag)
		if err != nil {
			fmt.Fprintf(os.Stderr, "status: -to: %v\n", err)
			os.Exit(2)
		}
		to = t
	}
	from := to.AddDate(0, 0, -7*12)
	if *fromFlag != "" {
		f, err := time.Parse(time.DateOnly, *fromFlag)
		if err != nil {
			fmt.Fprintf(os.Stderr, "status: -from: %v\n", err)
			os.Exit(2)
		}
		from = f
	}
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		fmt.Fprintln(os.Stderr, "status: DATABASE_URL is not set (the project's database, e.g. Supabase's postgres database)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "status: connecting to %s: %v\n", postgres.RedactURL(url), err)
		os.Exit(1)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if *effectiveness {
		effects, err := status.ReadEffectiveness(ctx, conn, from, to, time.Time{})
		if err == nil {
			err = status.RenderEffectiveness(os.Stdout, from, to, effects)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "status: %v\n", err)
			os.Exit(1)
		}
		return
	}
	h, err := status.Read(ctx, conn)
	if err == nil {
		err = h.Render(os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "status: %v\n", err)
		os.Exit(1)
	}
}
