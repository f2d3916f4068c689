// Command benchserver is the benchmark's stand-in for the deployable HTTP function: the same pieces
// (adapters/httpfn over the engine over adapters/postgres) served on loopback, with the benchmark's clock.
// It exists so that the benchmark measures a separate function process (cold start, peak RSS) without
// depending on the deployment entry points. It prints "ready ADDR" on stdout once the database answered
// and the listener is open.
//
// Environment: DATABASE_URL, SCHEDULER_SECRET.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
	_ "time/tzdata"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/engine"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	today := flag.String("today", "", "the date the engine takes for today (YYYY-MM-DD; default: the real date)")
	maxBatch := flag.Int("max-batch", 0, "engine.Options.MaxBatch (0: default)")
	targetBatch := flag.Duration("target-batch", 0, "engine.Options.TargetBatch (0: default)")
	parallelism := flag.Int("parallelism", 0, "engine.Options.Parallelism (0: default)")
	flag.Parse()
	if err := run(*addr, *today, engine.Options{MaxBatch: *maxBatch, TargetBatch: *targetBatch, Parallelism: *parallelism}); err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		os.Exit(1)
	}
}

func run(addr, today string, opt engine.Options) error {
	ctx := context.Background()
	store, err := postgres.Open(ctx, postgres.Config{URL: os.Getenv("DATABASE_URL")})
	if err != nil {
		return err
	}
	defer store.Close()
	if today != "" {
		t, err := time.Parse(engine.DateLayout, today)
		if err != nil {
			return fmt.Errorf("-today: %w", err)
		}
		opt.Now = func() time.Time { return t.Add(7 * time.Hour) }
	}
	h := httpfn.New(engine.New(store, opt), httpfn.Config{Secret: os.Getenv("SCHEDULER_SECRET")})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("ready %s\n", l.Addr())
	return http.Serve(l, h)
}
