// Command sqltree keeps the scheduler's SQL tree (supabase/schemas: one file per function, view, table and
// schema with its current definition) and the migrations in step (package infra/dev/sqltree).
//
// Usage, from the repository's root, with DATABASE_URL naming a PostgreSQL 15 server where it may create
// scratch databases (the sql:* tasks start a throw-away one):
//
//	sqltree tree             rewrite supabase/schemas from supabase/migrations (go tool task sql:tree)
//	sqltree check            report tree files that are stale, missing or extra (go tool task sql:check)
//	sqltree migration NAME   write supabase/migrations/<UTC timestamp>_NAME.sql from the functions and views
//	                         edited in the tree (go tool task sql:migration -- NAME)
//
// -tree and -migrations change the two directories; -version sets the new migration's version where the last
// migration's is ahead of the clock; "check -db URL" compares the tree with a database that
// is already migrated (one where pg_cron runs, say) instead of a scratch one.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/infra/dev/sqltree"
	"github.com/peermentor/scenario-scheduler/supabase"
)

const usage = `usage:
  sqltree [-tree DIR] [-migrations DIR] tree
  sqltree [-tree DIR] [-migrations DIR] [-db URL] check
  sqltree [-tree DIR] [-migrations DIR] [-version YYYYMMDDHHMMSS] migration NAME
`

func main() {
	treeDir := flag.String("tree", "supabase/schemas", "the SQL tree")
	migrationsDir := flag.String("migrations", "supabase/migrations", "where `migration` writes")
	version := flag.String("version", "", "migration: the new migration's version (YYYYMMDDHHMMSS) instead of the clock's")
	dbURL := flag.String("db", "", "check: compare with this already migrated database instead of a scratch one")
	flag.Usage = func() { fmt.Fprint(os.Stderr, usage); flag.PrintDefaults() }
	flag.Parse()
	args := flag.Args()
	// Flags may also follow the migration's name (go tool task sql:migration -- NAME -version V).
	if len(args) > 2 && args[0] == "migration" {
		name := args[1]
		if err := flag.CommandLine.Parse(args[2:]); err != nil {
			os.Exit(2)
		}
		args = append([]string{"migration", name}, flag.Args()...)
	}
	if len(args) == 0 || (args[0] == "migration") != (len(args) == 2) || len(args) > 2 {
		flag.Usage()
		os.Exit(2)
	}
	server := os.Getenv("DATABASE_URL")
	if server == "" && *dbURL == "" {
		fail("DATABASE_URL is not set: run it through its task (go tool task sql:tree), which starts PostgreSQL")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	ms, err := postgres.LoadMigrations(supabase.Migrations)
	if err != nil {
		fail(err.Error())
	}

	switch args[0] {
	case "tree":
		objs, err := sqltree.Generate(ctx, server, ms)
		if err != nil {
			fail(err.Error())
		}
		written, removed, err := sqltree.WriteTree(*treeDir, sqltree.Files(objs))
		if err != nil {
			fail(err.Error())
		}
		for _, p := range written {
			fmt.Println("wrote  ", p)
		}
		for _, p := range removed {
			fmt.Println("removed", p)
		}
		fmt.Printf("%s: %d files from %d migrations (%d written, %d removed)\n", *treeDir, len(objs), len(ms), len(written), len(removed))
	case "check":
		target, drop := *dbURL, func() {}
		if target == "" {
			s, err := sqltree.NewScratch(ctx, server, ms)
			if err != nil {
				fail(err.Error())
			}
			target, drop = s.URL, s.Drop
		}
		diffs, err := sqltree.Check(ctx, target, *treeDir)
		drop()
		if err != nil {
			fail(err.Error())
		}
		for _, d := range diffs {
			fmt.Println(d)
		}
		if len(diffs) > 0 {
			fail(fmt.Sprintf("%d tree files disagree with the migrations: after changing the tree, `go tool task sql:migration -- NAME`; after new migrations, `go tool task sql:tree`", len(diffs)))
		}
		fmt.Printf("%s agrees with the %d migrations\n", *treeDir, len(ms))
	case "migration":
		res, err := sqltree.NewMigration(ctx, sqltree.MigrationOptions{
			ServerURL: server, TreeDir: *treeDir, MigrationsDir: *migrationsDir,
			Migrations: ms, Name: args[1], Now: time.Now(), Version: *version,
		})
		if err != nil {
			fail(err.Error())
		}
		report(res)
	}
}

func report(res *sqltree.MigrationResult) {
	if res.Path == "" {
		fmt.Println("nothing to do: the tree and the migrations agree; no migration written")
		return
	}
	fmt.Println("wrote", res.Path)
	for _, p := range res.Replaced {
		fmt.Println("  whole:", p)
	}
	for _, s := range res.Dropped {
		fmt.Println("  ", s)
	}
	if len(res.Tables) > 0 {
		fmt.Println("not generated: write the statements (ALTER TABLE ...) for these files by hand in the migration:")
		for _, d := range res.Tables {
			fmt.Println(" ", d)
		}
	}
	if len(res.Remaining) == 0 {
		fmt.Println("applied to a migrated database: the tree and the migrations now agree")
		return
	}
	fmt.Println("applied to a migrated database; these tree files still differ from what the migrations give:")
	for _, d := range res.Remaining {
		fmt.Println(d)
	}
	fmt.Println("A difference in layout only (pg_dump's canonical form: a view's text, a header) goes with `go tool task sql:tree`;")
	fmt.Println("anything else (a table, a revoked grant) needs statements written by hand in the migration.")
	os.Exit(1)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "sqltree:", msg)
	os.Exit(1)
}
