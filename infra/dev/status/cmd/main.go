// Command status prints the scenario scheduler's last 14 days from its database: per day the status of each
// scenario, counts, run time, pg_net's answers to the day's requests and open alerts; then the open alerts and
// the next scheduled runs in UTC and local time (package infra/dev/status).
//
// Usage:
//
//	DATABASE_URL=postgres://... status
//
// DATABASE_URL is the project's database with a role that may read the scheduler schema (Supabase: postgres,
// where pg_cron runs). `go tool task status` runs it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/infra/dev/status"
)

func main() {
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
	h, err := status.Read(ctx, conn)
	if err == nil {
		err = h.Render(os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "status: %v\n", err)
		os.Exit(1)
	}
}
