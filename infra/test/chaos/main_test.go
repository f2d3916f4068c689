package chaos_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/infra/dev/localpg"
)

// cluster is this package's own PostgreSQL server; tests restart it.
var cluster *localpg.Cluster

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := localpg.Start(ctx, localpg.Options{Log: os.Stderr})
	cancel()
	if err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "chaos: cannot start PostgreSQL in CI: %v\n", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "chaos: skipping, no PostgreSQL: %v\n", err)
		os.Exit(0)
	}
	cluster = c
	// pgtest creates each test's database on this server, and its AdminURL is this server's administrator
	// (not that of a cluster the suite runs inside, as under `task test`).
	os.Setenv("DATABASE_URL", c.URL())
	os.Setenv(pgtest.AdminURLVar, c.AdminURL())
	code := m.Run()
	functionBinary.Remove()
	if err := c.Stop(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "chaos: stopping PostgreSQL: %v\n", err)
	}
	os.Exit(code)
}

// long reports whether the long suite runs (CHAOS_LONG=1).
func long() bool {
	v, _ := strconv.ParseBool(os.Getenv("CHAOS_LONG"))
	return v
}

// mentors is the population size of the suite: 20,000 in the fast suite, 100,000 in the long one.
func mentors() int {
	if long() {
		return 100_000
	}
	return 20_000
}
