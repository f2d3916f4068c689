// Command localpg runs a command against a throw-away PostgreSQL 15 cluster
// with pg_cron and pgTAP (see package infra/dev/localpg).
//
// Usage:
//
//	localpg exec [-data DIR] [-keep] -- CMD [ARGS...]
//	localpg check
//
// "exec" starts a cluster, runs CMD with DATABASE_URL, ADMIN_DATABASE_URL, PGHOST, PGPORT,
// PGUSER and PGDATABASE set, stops the cluster and exits with CMD's exit
// code. If DATABASE_URL is already set it just runs CMD. "check" only finds
// (and as root on Debian installs) the needed packages and prints what it
// found.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/peermentor/scenario-scheduler/infra/dev/localpg"
)

const usage = `usage:
  localpg exec [-data DIR] [-keep] -- CMD [ARGS...]
  localpg check
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx := context.Background()
	switch os.Args[1] {
	case "exec":
		fs := flag.NewFlagSet("exec", flag.ExitOnError)
		fs.Usage = func() { fmt.Fprint(os.Stderr, usage); fs.PrintDefaults() }
		data := fs.String("data", "", "persistent data directory (reused if it holds a cluster; never removed)")
		keep := fs.Bool("keep", false, "keep the temporary data directory after the command ends")
		_ = fs.Parse(os.Args[2:])
		if fs.NArg() == 0 {
			fs.Usage()
			os.Exit(2)
		}
		code, err := localpg.Exec(ctx, localpg.ExecOptions{DataDir: *data, Keep: *keep}, fs.Args())
		if err != nil {
			fmt.Fprintf(os.Stderr, "localpg: %v\n", err)
		}
		os.Exit(code)
	case "check":
		inst, err := localpg.EnsurePackages(ctx, os.Stderr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "localpg: %v\n", err)
			os.Exit(1)
		}
		fmt.Print(inst)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
}
