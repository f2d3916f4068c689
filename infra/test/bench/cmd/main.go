// Command bench measures the scenario scheduler on synthetic datasets (see package infra/test/bench), prints a
// table and writes infra/test/bench/results/<date>.md and .json. DATABASE_URL names the server; each size's dataset is
// created on it when missing (package infra/dev/benchdata).
//
// Usage:
//
//	bench [-sizes 500,10k,100k] [-reps 5] [-max-warmup 5] [-rtts 0,1ms,5ms|none] [-write-rows 2000] [-write-bulk 100000] [-out infra/test/bench/results] [-conditions TEXT]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/dev/benchdata"
	"github.com/peermentor/scenario-scheduler/infra/test/bench"
)

func main() {
	sizes := flag.String("sizes", "500,10k,100k", "dataset sizes (mentors), comma-separated")
	reps := flag.Int("reps", 5, "repetitions of each timed measurement, counted after the warm-up")
	warmup := flag.Int("max-warmup", 5, "at most this many warm-up repetitions, run until two consecutive ones agree within 10 % (0: none)")
	writeRows := flag.Int("write-rows", 2000, "change feed write cost: single-row inserts in the loop")
	writeBulk := flag.Int("write-bulk", 100_000, "change feed write cost: rows of the bulk insert (0: not measured)")
	seed := flag.Uint64("seed", benchdata.DefaultSeed, "dataset seed")
	out := flag.String("out", "infra/test/bench/results", "directory for <date>.md and <date>.json (empty: do not write)")
	conditions := flag.String("conditions", "", "a note on the conditions, written into the results")
	maxBatch := flag.Int("max-batch", 0, "engine.Options.MaxBatch (0: the engine's default)")
	targetBatch := flag.Duration("target-batch", 0, "engine.Options.TargetBatch (0: the engine's default)")
	parallelism := flag.Int("parallelism", 0, "engine.Options.Parallelism: scenarios evaluated at the same time (0: the engine's default)")
	rtts := flag.String("rtts", "0,1ms,5ms", "round trips at which the engine and the naive loop are compared through a latency proxy (none: skip)")
	outcomesOnly := flag.Bool("outcomes-only", false, "stop each size after the first run and the outcome computation over its nudges")
	noIncremental := flag.Bool("no-incremental", false, "leave out the incremental run's comparison")
	incrementalOnly := flag.Bool("incremental-only", false, "measure the first run and the incremental run's comparison only")
	flag.Parse()
	server := os.Getenv("DATABASE_URL")
	if server == "" {
		fmt.Fprintln(os.Stderr, "bench: DATABASE_URL is not set (run it through `go tool task bench`)")
		os.Exit(2)
	}
	ns, err := benchdata.ParseSizes(*sizes)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	rt, err := parseRTTs(*rtts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := bench.Run(ctx, bench.Config{ServerURL: server, Sizes: ns, Seed: *seed, Reps: *reps, Log: os.Stderr,
		MaxWarmup: orNone(*warmup), RTTs: rt, WriteRows: *writeRows, WriteBulk: orNone(*writeBulk), OutcomesOnly: *outcomesOnly,
		NoIncremental: *noIncremental, IncrementalOnly: *incrementalOnly,
		Options: engine.Options{MaxBatch: *maxBatch, TargetBatch: *targetBatch, Parallelism: *parallelism}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	res.Conditions = *conditions
	bench.WriteTable(os.Stdout, res)
	if *out != "" {
		path, err := bench.WriteFiles(*out, res)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "bench: wrote", path, "and .json")
	}
}

// orNone maps a flag's 0 ("none") to the configuration's negative value for none (its 0 is the default).
func orNone(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// parseRTTs reads -rtts: durations, comma-separated ("0" is no added latency), or none.
func parseRTTs(s string) ([]time.Duration, error) {
	out := []time.Duration{}
	if s == "none" {
		return out, nil
	}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "0" {
			out = append(out, 0)
			continue
		}
		d, err := time.ParseDuration(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("-rtts: bad round trip %q", f)
		}
		out = append(out, d)
	}
	return out, nil
}
