package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	_ "embed"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
)

// snapshotSQL lists the schema's facts, one text line each, in order.
//
//go:embed snapshot.sql
var snapshotSQL string

func checkMigrationsTwice(ctx context.Context, t Target) Result {
	r := Result{ID: "10", Title: "the migrations applied twice to a scratch database give the same schema"}
	if t.ScratchURL == "" {
		r.Outcome, r.Detail = Skip, "not run: no scratch server given (-scratch-url or VERIFY_SCRATCH_URL); "+
			"it never defaults to the project's server"
		return r
	}
	if len(t.Migrations) == 0 {
		return r.fail("no migrations given")
	}
	adminCfg, err := pgx.ParseConfig(t.ScratchURL)
	if err != nil {
		return r.fail("scratch server URL: %v", err)
	}
	admin, err := pgx.ConnectConfig(ctx, adminCfg)
	if err != nil {
		return r.fail("connecting to the scratch server: %v", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))

	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "verify_scratch_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "create database "+name); err != nil {
		return r.fail("creating a scratch database (the user needs CREATEDB): %v", err)
	}
	defer func() {
		dropCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = admin.Exec(dropCtx, "drop database if exists "+name+" with (force)")
	}()

	cfg := adminCfg.Copy()
	cfg.Database = name
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return r.fail("connecting to the scratch database: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	if _, err := postgres.Migrate(ctx, conn, t.Migrations); err != nil {
		return r.fail("first application: %v", err)
	}
	first, err := snapshot(ctx, conn)
	if err != nil {
		return r.fail("snapshot after the first application: %v", err)
	}
	// The second application runs every file again, past the history table: each must be idempotent.
	for _, m := range t.Migrations {
		if err := postgres.ApplySQL(ctx, conn, m.SQL); err != nil {
			return r.fail("second application of %s_%s: %v", m.Version, m.Name, err)
		}
	}
	second, err := snapshot(ctx, conn)
	if err != nil {
		return r.fail("snapshot after the second application: %v", err)
	}
	diff := diffLines(first, second)
	if len(diff) > 0 {
		r.Evidence = strings.Join(diff, "\n")
		return r.fail("%d catalog facts differ after the second application", len(diff))
	}
	r.Evidence = fmt.Sprintf("%d migrations; %d catalog facts (schemas, relations, columns, constraints, indexes, "+
		"functions, policies, privileges, row counts) identical after each application", len(t.Migrations), len(first))
	return r.pass("the second application changed nothing")
}

// snapshot returns the schema's facts and the row count of every table the migrations created.
func snapshot(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	rows, err := conn.Query(ctx, snapshotSQL)
	if err != nil {
		return nil, err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	rows, err = conn.Query(ctx, `select c.oid::regclass::text from pg_class c
		where c.relkind in ('r', 'p') and c.relnamespace in (select oid from pg_namespace
		  where nspname in ('public', 'scheduler', 'supabase_migrations'))
		order by 1`)
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, tbl := range tables {
		var n int64
		if err := conn.QueryRow(ctx, "select count(*) from "+tbl).Scan(&n); err != nil {
			return nil, err
		}
		lines = append(lines, fmt.Sprintf("rows %s %d", tbl, n))
	}
	return lines, nil
}

// diffLines lists the lines only in a ("- ") or only in b ("+ ").
func diffLines(a, b []string) []string {
	count := map[string]int{}
	for _, l := range a {
		count[l]++
	}
	for _, l := range b {
		count[l]--
	}
	var out []string
	for _, l := range a {
		if count[l] > 0 {
			out = append(out, "- "+l)
			count[l]--
		}
	}
	for _, l := range b {
		if count[l] < 0 {
			out = append(out, "+ "+l)
			count[l]++
		}
	}
	return out
}
