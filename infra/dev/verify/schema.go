package verify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
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
	r := Result{ID: "5", Title: "run the migrations twice in a staging (scratch) database: idempotent"}
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

	var ev strings.Builder
	fail := func(format string, args ...any) Result {
		r.Evidence = ev.String()
		return r.fail(format, args...)
	}

	// (a) Every file applied a second time, past the history table, as psql re-running each would.
	dbURL, drop, err := scratchDatabase(ctx, admin, t.ScratchURL)
	if err != nil {
		return fail("%v", err)
	}
	defer drop()
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return fail("scratch database URL: %v", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fail("connecting to the scratch database: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	if _, err := postgres.Migrate(ctx, conn, t.Migrations); err != nil {
		return fail("first application: %v", err)
	}
	first, err := snapshot(ctx, conn)
	if err != nil {
		return fail("snapshot after the first application: %v", err)
	}
	dump1, err := schemaDump(ctx, t.PgDump, dbURL)
	if err != nil {
		return fail("pg_dump --schema-only after the first application: %v", err)
	}
	for _, m := range t.Migrations {
		if err := postgres.ApplySQL(ctx, conn, m.SQL); err != nil {
			return fail("second application of %s_%s: %v", m.Version, m.Name, err)
		}
	}
	second, err := snapshot(ctx, conn)
	if err != nil {
		return fail("snapshot after the second application: %v", err)
	}
	dump2, err := schemaDump(ctx, t.PgDump, dbURL)
	if err != nil {
		return fail("pg_dump --schema-only after the second application: %v", err)
	}
	fmt.Fprintf(&ev, "every migration applied, then each of the %d files applied again:\n", len(t.Migrations))
	if diff := diffLines(first, second); len(diff) > 0 {
		ev.WriteString(strings.Join(diff, "\n"))
		return fail("%d catalog facts differ after the second application", len(diff))
	}
	fmt.Fprintf(&ev, "  %d catalog facts (schemas, relations, columns, constraints, indexes, functions, policies, "+
		"privileges, row counts): identical\n", len(first))
	if diff := diffLines(dump1, dump2); len(diff) > 0 {
		ev.WriteString(strings.Join(diff, "\n"))
		return fail("pg_dump --schema-only differs in %d lines after the second application", len(diff))
	}
	fmt.Fprintf(&ev, "  pg_dump --schema-only: %d lines, identical (sha256 %s)\n", len(dump1), digest(dump1))

	// (b) supabase db push twice: the second finds nothing to apply.
	if t.SupabaseCLI == "" {
		return fail("the Supabase CLI is not installed: go tool task setup:supabase (the pinned CLI in infra/dev/supabase-cli)")
	}
	pushURL, dropPushed, err := scratchDatabase(ctx, admin, t.ScratchURL)
	if err != nil {
		return fail("%v", err)
	}
	defer dropPushed()
	project, err := cliProject(t.Migrations)
	if err != nil {
		return fail("preparing the CLI's project folder: %v", err)
	}
	defer os.RemoveAll(project)
	out1, err := runCLI(ctx, t.SupabaseCLI, project, "db", "push", "--db-url", pushURL, "--yes")
	if err != nil {
		ev.WriteString("supabase db push (first):\n" + out1)
		return fail("supabase db push: %v", err)
	}
	before, err := schemaDump(ctx, t.PgDump, pushURL)
	if err != nil {
		return fail("pg_dump --schema-only after the first push: %v", err)
	}
	out2, err := runCLI(ctx, t.SupabaseCLI, project, "db", "push", "--db-url", pushURL, "--yes")
	fmt.Fprintf(&ev, "\nsupabase db push, first: %d migrations applied\nsupabase db push, second:\n  %s\n",
		strings.Count(out1, "Applying migration "), strings.ReplaceAll(strings.TrimSpace(out2), "\n", "\n  "))
	if err != nil {
		return fail("the second supabase db push: %v", err)
	}
	if strings.Contains(out2, "Applying migration ") || !strings.Contains(out2, "up to date") {
		return fail("the second supabase db push did not find the database up to date")
	}
	after, err := schemaDump(ctx, t.PgDump, pushURL)
	if err != nil {
		return fail("pg_dump --schema-only after the second push: %v", err)
	}
	if diff := diffLines(before, after); len(diff) > 0 {
		ev.WriteString(strings.Join(diff, "\n"))
		return fail("pg_dump --schema-only differs after the second supabase db push")
	}
	fmt.Fprintf(&ev, "  pg_dump --schema-only before and after it: identical\n")
	r.Evidence = ev.String()
	return r.pass("the second application of every file changed nothing (catalog and pg_dump --schema-only identical), " +
		"and a second supabase db push applied nothing")
}

// scratchDatabase creates a throw-away database on the scratch server and returns its URL and its drop.
func scratchDatabase(ctx context.Context, admin *pgx.Conn, serverURL string) (string, func(), error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "verify_scratch_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "create database "+name); err != nil {
		return "", nil, fmt.Errorf("creating a scratch database (the user needs CREATEDB): %w", err)
	}
	drop := func() {
		dropCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = admin.Exec(dropCtx, "drop database if exists "+name+" with (force)")
	}
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		drop()
		return "", nil, fmt.Errorf("the scratch server must be given as a postgres:// URL")
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// schemaDump is pg_dump --schema-only of dbURL, as lines.
func schemaDump(ctx context.Context, pgDump, dbURL string) ([]string, error) {
	cmd := exec.CommandContext(ctx, pgDump, "--schema-only", "--no-password", "--dbname", dbURL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	// pg_dump since 15.14 wraps its output in \restrict and \unrestrict with a random key on each run.
	var lines []string
	for l := range strings.SplitSeq(string(out), "\n") {
		if !strings.HasPrefix(l, `\restrict `) && !strings.HasPrefix(l, `\unrestrict `) {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// digest is a short sha256 of lines, for the report.
func digest(lines []string) string {
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:6])
}

// cliProject writes the migrations into a temporary project folder for the Supabase CLI (supabase/migrations,
// and a config.toml naming the project): the CLI writes its supabase/.temp there, not into the repository.
func cliProject(ms []postgres.Migration) (string, error) {
	dir, err := os.MkdirTemp("", "verify-supabase-")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "supabase", "migrations"), 0o755); err != nil {
		return dir, err
	}
	if err := os.WriteFile(filepath.Join(dir, "supabase", "config.toml"), []byte("project_id = \"scenario-scheduler-verify\"\n"), 0o644); err != nil {
		return dir, err
	}
	for _, m := range ms {
		if err := os.WriteFile(filepath.Join(dir, "supabase", "migrations", m.Version+"_"+m.Name+".sql"), []byte(m.SQL), 0o644); err != nil {
			return dir, err
		}
	}
	return dir, nil
}

// runCLI runs the Supabase CLI in project and returns its combined output.
func runCLI(ctx context.Context, cli, project string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, cli, append(args, "--workdir", project)...)
	cmd.Env = append(os.Environ(), "DO_NOT_TRACK=1", "SUPABASE_TELEMETRY_DISABLED=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
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
