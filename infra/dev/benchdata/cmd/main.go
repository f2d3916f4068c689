// Command benchdata creates the synthetic benchmark datasets (see package infra/dev/benchdata) on the server
// in DATABASE_URL, one database per size (bench_500, bench_10k, ...). A size already loaded with the same
// seed and migrations is kept.
//
// Usage:
//
//	benchdata [-seed N] [-rebuild] SIZE...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/peermentor/scenario-scheduler/infra/dev/benchdata"
)

func main() {
	seed := flag.Uint64("seed", benchdata.DefaultSeed, "random seed")
	rebuild := flag.Bool("rebuild", false, "reload even when the database holds this dataset")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: benchdata [-seed N] [-rebuild] SIZE... (sizes like 500, 10000, 10k, 1m; commas allowed)")
		flag.PrintDefaults()
	}
	flag.Parse()
	server := os.Getenv("DATABASE_URL")
	if server == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	sizes, err := benchdata.ParseSizes(strings.Join(flag.Args(), ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdata:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// ALTER SYSTEM needs a superuser; on a localpg cluster DATABASE_URL's role (postgres) is not one, as on
	// Supabase, and ADMIN_DATABASE_URL names the administrative role.
	tuneURL := server
	if admin := os.Getenv("ADMIN_DATABASE_URL"); admin != "" {
		tuneURL = admin
	}
	if restart, err := benchdata.Tune(ctx, tuneURL); err != nil {
		fmt.Fprintln(os.Stderr, "benchdata: setting shared_buffers:", err)
	} else if restart {
		fmt.Fprintf(os.Stderr, "benchdata: shared_buffers set to %s; it takes effect when the server next starts\n", benchdata.SharedBuffers)
	}
	for _, n := range sizes {
		fmt.Fprintf(os.Stderr, "benchdata: %s mentors into %s\n", strconv.Itoa(n), benchdata.DatabaseName(n))
		_, st, err := benchdata.Ensure(ctx, server, benchdata.Spec{Mentors: n, Seed: *seed}, *rebuild, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchdata:", err)
			os.Exit(1)
		}
		if st == nil {
			fmt.Fprintf(os.Stderr, "benchdata: %s already loaded\n", benchdata.DatabaseName(n))
			continue
		}
		fmt.Fprintf(os.Stderr, "benchdata: %d rows (%d mentors, %d active, %d activities, %d certifications, %d device tokens) in %.1fs, %.0f rows/s\n",
			st.Rows(), st.Mentors, st.ActiveMentors, st.Activities, st.Certifications, st.DeviceTokens,
			st.Took.Seconds(), float64(st.Rows())/st.Took.Seconds())
	}
}
