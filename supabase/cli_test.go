package supabase_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// cliVersion is the Supabase CLI the project pins (infra/dev/supabase-cli/package.json).
const cliVersion = "2.117.0"

// supabaseCLI finds the pinned Supabase CLI: $SUPABASE_CLI, or the one `npm ci` installs in
// infra/dev/supabase-cli. It skips the test when there is none, and fails it under CI=true.
func supabaseCLI(t *testing.T) string {
	t.Helper()
	cli := os.Getenv("SUPABASE_CLI")
	if cli == "" {
		cli, _ = filepath.Abs("../infra/dev/supabase-cli/node_modules/.bin/supabase")
	}
	out, err := exec.Command(cli, "--version").Output()
	if err != nil {
		msg := "the Supabase CLI is not installed (" + cli + "): run `go tool task setup:supabase` (npm ci in infra/dev/supabase-cli)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if v := strings.TrimSpace(string(out)); v != cliVersion {
		t.Fatalf("Supabase CLI %s, want %s (infra/dev/supabase-cli/package.json)", v, cliVersion)
	}
	return cli
}

// cliProject copies the Supabase project files (config.toml, migrations, seed) into a temporary
// directory, the CLI's --workdir: the CLI writes supabase/.temp there, not into the repository.
func cliProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var files []string
	ms, _ := filepath.Glob("migrations/*.sql")
	ref, _ := filepath.Glob("reference/*.sql")
	files = append(files, append(append(ms, ref...), "config.toml", "seed.sql")...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, "supabase", f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runCLI runs the CLI in the project directory and returns its standard output; it fails the test when
// the CLI exits non-zero.
func runCLI(t *testing.T, cli, workdir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, append(args, "--workdir", workdir)...)
	cmd.Env = append(os.Environ(), "SUPABASE_TELEMETRY_DISABLED=1", "DO_NOT_TRACK=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("supabase %s: %v\n%s\n%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// cliDatabase is a fresh database created from template1, which localpg bootstraps like a Supabase
// project before its first migration (roles, auth.uid()), with the URL the CLI needs (sslmode=disable: the
// local server has no TLS). Creating it needs CREATEDB only, not superuser.
func cliDatabase(t *testing.T) string {
	t.Helper()
	server := pgtest.ServerURL(t)
	ctx := context.Background()
	admin := connect(t, server)
	name := fmt.Sprintf("cli_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "create database "+name+" template template1"); err != nil {
		t.Fatalf("creating the database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), server)
		if err != nil {
			t.Errorf("dropping %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "drop database if exists "+name+" with (force)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	dbURL, err := postgres.WithDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	return withSSLDisabled(t, dbURL)
}

func withSSLDisabled(t *testing.T, dbURL string) string {
	t.Helper()
	if strings.Contains(dbURL, "sslmode=") {
		return dbURL
	}
	if strings.Contains(dbURL, "?") {
		return dbURL + "&sslmode=disable"
	}
	return dbURL + "?sslmode=disable"
}

// migrationRow is one line of `supabase migration list`: | local | remote | time |.
var migrationRow = regexp.MustCompile("^\\s*`?(\\d{14})?`?\\s*\\|\\s*`?(\\d{14})?`?\\s*\\|")

// migrationList parses `supabase migration list` into the local and the remote versions.
func migrationList(out string) (local, remote []string) {
	for _, line := range strings.Split(out, "\n") {
		m := migrationRow.FindStringSubmatch(line)
		if m == nil || (m[1] == "" && m[2] == "") {
			continue
		}
		if m[1] != "" {
			local = append(local, m[1])
		}
		if m[2] != "" {
			remote = append(remote, m[2])
		}
	}
	return local, remote
}

// projectVersions are the versions of supabase/migrations, as the project's own runner reads them.
func projectVersions(t *testing.T) []postgres.Migration {
	t.Helper()
	ms, err := postgres.LoadMigrations(supabase.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func versions(ms []postgres.Migration) []string {
	var v []string
	for _, m := range ms {
		v = append(v, m.Version)
	}
	return v
}

// TestSupabaseCLIPush: `supabase db push --include-seed` applies every migration and the seed to a fresh
// database; `supabase migration list` and the project's own runner (adapters/postgres.Migrate) agree on
// what is applied, both ways: the runner finds nothing left after the CLI, and the CLI finds nothing
// pending in a database the runner migrated.
func TestSupabaseCLIPush(t *testing.T) {
	t.Parallel()
	cli := supabaseCLI(t)
	project := cliProject(t)
	ms := projectVersions(t)
	ctx := context.Background()

	pushed := cliDatabase(t)
	runCLI(t, cli, project, "db", "push", "--db-url", pushed, "--include-seed", "--yes")
	conn := connect(t, pushed)
	var history []string
	rows, err := conn.Query(ctx, `select version from supabase_migrations.schema_migrations order by version`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		history = append(history, v)
	}
	if rows.Err() != nil || !slices.Equal(history, versions(ms)) {
		t.Fatalf("history after db push: %v (%v), want %v", history, rows.Err(), versions(ms))
	}
	var organisations int
	if err := conn.QueryRow(ctx, `select count(*) from public.organisations`).Scan(&organisations); err != nil || organisations == 0 {
		t.Fatalf("the seed was not applied: %d organisations (%v)", organisations, err)
	}
	// The seed paths map the source contract onto the reference app: it holds after db push --include-seed.
	if _, err := conn.Exec(ctx, `select scheduler.check_source()`); err != nil {
		t.Fatalf("the source contract after db push --include-seed: %v", err)
	}
	if applied, err := postgres.Migrate(ctx, conn, ms); err != nil || len(applied) != 0 {
		t.Fatalf("the project's runner after db push applied %v (%v), want nothing", applied, err)
	}
	local, remote := migrationList(runCLI(t, cli, project, "migration", "list", "--db-url", pushed))
	if !slices.Equal(local, versions(ms)) || !slices.Equal(remote, versions(ms)) {
		t.Fatalf("migration list after db push: local %v remote %v, want %v", local, remote, versions(ms))
	}

	// The other way: migrated by the project's runner, the CLI has nothing to push.
	migrated := cliDatabase(t)
	if _, err := postgres.Migrate(ctx, connect(t, migrated), ms); err != nil {
		t.Fatal(err)
	}
	local, remote = migrationList(runCLI(t, cli, project, "migration", "list", "--db-url", migrated))
	if !slices.Equal(local, versions(ms)) || !slices.Equal(remote, versions(ms)) {
		t.Fatalf("migration list after the project's runner: local %v remote %v, want %v", local, remote, versions(ms))
	}
	if out := runCLI(t, cli, project, "db", "push", "--db-url", migrated, "--dry-run", "--yes"); strings.Contains(out, "Would push") {
		t.Fatalf("db push --dry-run after the project's runner would push:\n%s", out)
	}
}

// lintClean are the functions in which `supabase db lint --level warning` may report nothing, not even a
// warning: the rules' PL/pgSQL (supabase/migrations/20261207110000_rules_composed.sql).
var lintClean = map[string]bool{"scheduler.evaluate_batch": true, "scheduler.explain": true,
	"scheduler.remaining_mentors": true, "scheduler.check_claim": true}

// lintIssue is one function's findings in `supabase db lint -o json`.
type lintIssue struct {
	Function string `json:"function"`
	Issues   []struct {
		Level   string `json:"level"`
		Message string `json:"message"`
	} `json:"issues"`
}

// TestSupabaseCLILint: `supabase db lint` (plpgsql_check over every PL/pgSQL function) reports no error in
// the migrated schema. pg_net and Vault are the real extensions where installed, the test stand-ins
// otherwise; pg_cron's signatures come from a lint-only stand-in, since pg_cron serves one database only.
// plpgsql_check is not a trusted extension: the CLI runs `create extension if not exists plpgsql_check`,
// which a role without superuser can only pass when an administrator created it in the database first.
func TestSupabaseCLILint(t *testing.T) {
	t.Parallel()
	cli := supabaseCLI(t)
	project := cliProject(t)
	ctx := context.Background()
	dbURL := cliDatabase(t)
	conn := connect(t, dbURL)
	if _, err := postgres.Migrate(ctx, conn, projectVersions(t)); err != nil {
		t.Fatal(err)
	}
	// What an administrator provides on Supabase: pg_net and Vault (here the stand-ins) and plpgsql_check,
	// which is not a trusted extension (the CLI's own create extension if not exists then finds it).
	admin := connect(t, pgtest.AdminURL(t, dbURL))
	loadStandIns(t, admin)
	script, err := os.ReadFile("testdata/pg_cron_signatures.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.ApplySQL(ctx, conn, string(script)); err != nil {
		t.Fatalf("pg_cron's signatures: %v", err)
	}
	if _, err := admin.Exec(ctx, `create extension if not exists plpgsql_check`); err != nil {
		var pgErr *pgconn.PgError
		msg := "plpgsql_check is not available: install postgresql-15-plpgsql-check (go tool task setup)"
		if errors.As(err, &pgErr) && pgErr.Code == "42501" {
			msg = "plpgsql_check must be created in the database by an administrator (it is not a trusted extension): " + err.Error()
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skipf("%s: %v", msg, err)
	}
	// A probe the lint must find, so that a lint which checks nothing does not pass.
	if _, err := conn.Exec(ctx, `create function public.lint_probe() returns bigint language plpgsql as
		$$ begin return (select count(*) from public.no_such_table); end $$`); err != nil {
		t.Fatal(err)
	}
	out := runCLI(t, cli, project, "db", "lint", "--db-url", dbURL, "--level", "warning", "-o", "json")
	var found []lintIssue
	if start := strings.IndexByte(out, '['); start >= 0 {
		if err := json.Unmarshal([]byte(out[start:]), &found); err != nil {
			t.Fatalf("db lint output: %v\n%s", err, out)
		}
	}
	probed := false
	for _, f := range found {
		for _, i := range f.Issues {
			switch {
			case f.Function == "public.lint_probe":
				probed = i.Level == "error"
			case i.Level == "error", lintClean[f.Function]:
				t.Errorf("%s: %s: %s", f.Function, i.Level, i.Message)
			default:
				t.Logf("%s: %s: %s", f.Function, i.Level, i.Message)
			}
		}
	}
	if !probed {
		t.Errorf("db lint did not report the probe's missing table: it checked nothing\n%s", out)
	}
}
