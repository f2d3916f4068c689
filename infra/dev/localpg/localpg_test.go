package localpg_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/infra/dev/localpg"
)

// installation finds the PostgreSQL installation, or skips the test outside CI where there is none (in CI
// a missing installation fails it), and when DATABASE_URL names an outer cluster.
func installation(t *testing.T, ctx context.Context) *localpg.Installation {
	t.Helper()
	if os.Getenv("DATABASE_URL") != "" {
		t.Skip("DATABASE_URL is set: an outer cluster already exists")
	}
	inst, err := localpg.Find(ctx)
	if err != nil {
		var miss *localpg.MissingError
		if errors.As(err, &miss) && os.Getenv("CI") != "true" {
			t.Skipf("PostgreSQL not available: %v", err)
		}
		t.Fatalf("find PostgreSQL: %v", err)
	}
	return inst
}

func TestStartQueryStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	inst := installation(t, ctx)
	c, err := localpg.Start(ctx, localpg.Options{Installation: inst, Log: os.Stderr})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = c.Stop(context.Background())
		}
	}()

	psql := func(sql string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, inst.Psql(), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql)
		cmd.Env = c.Env()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("psql -c %q: %v\n%s", sql, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := psql("select 1"); got != "1" {
		t.Errorf("select 1 = %q", got)
	}
	if got := psql("show shared_preload_libraries"); got != "pg_cron" && got != "pg_cron,pg_net" {
		t.Errorf("shared_preload_libraries = %q, want pg_cron (and pg_net where installed)", got)
	}
	// As on hosted Supabase, pg_net's worker (or the tests' stand-in for it) serves the database postgres and
	// connects as postgres, not as the superuser (pg_net's default): triggers on its tables run as postgres.
	if got := psql("select current_setting('pg_net.database_name', true) || ' ' || current_setting('pg_net.username', true)"); got != "postgres postgres" {
		t.Errorf("pg_net.database_name and pg_net.username = %q, want \"postgres postgres\"", got)
	}
	// As on Supabase: postgres, the role clients use, is not a superuser but has Supabase's attributes; the
	// bootstrap superuser is the administrative role; pg_cron and the extensions schema belong to it.
	const roles = `select string_agg(format('%s:%s%s%s%s%s', rolname, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolreplication), ' ' order by rolname)
		from pg_roles where rolname in ('postgres', 'supabase_admin')`
	if got, want := psql(roles), "postgres:ftttt supabase_admin:ttttt"; got != want {
		t.Errorf("roles = %q, want %q", got, want)
	}
	const owners = `select string_agg(e.extname || ':' || pg_get_userbyid(e.extowner) || ':' || e.extnamespace::regnamespace, ' ' order by e.extname)
		from pg_extension e where e.extname in ('pg_cron', 'pgcrypto', 'btree_gist')`
	if got, want := psql(owners), "btree_gist:supabase_admin:extensions pg_cron:supabase_admin:pg_catalog pgcrypto:supabase_admin:extensions"; got != want {
		t.Errorf("extensions = %q, want %q", got, want)
	}
	// The Supabase bootstrap: API roles, auth.uid(), in postgres and in databases created from template1.
	const bootstrapped = `select string_agg(rolname, ',' order by rolname) || ' ' || (to_regprocedure('auth.uid()') is not null)
		from pg_roles where rolname in ('anon', 'authenticated', 'service_role')`
	want := "anon,authenticated,service_role true"
	if got := psql(bootstrapped); got != want {
		t.Errorf("bootstrap in postgres: %q, want %q", got, want)
	}
	psql("create database bootstrap_check")
	cmd := exec.CommandContext(ctx, inst.Psql(), "-X", "-A", "-t", "-d", "bootstrap_check", "-c", bootstrapped)
	cmd.Env = c.Env()
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("bootstrap in a new database: %q (%v), want %q", out, err, want)
	}
	if !strings.HasPrefix(c.URL(), "postgres://postgres@127.0.0.1:") {
		t.Errorf("URL = %q", c.URL())
	}

	stopped = true
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := os.Stat(c.DataDir); !os.IsNotExist(err) {
		t.Errorf("data directory %s still exists after Stop (err=%v)", c.DataDir, err)
	}
}

// A second start on a data directory whose server is running fails and leaves that server running: it used
// to shut it down (immediate mode) while cleaning up after its own failed start, cutting a benchmark off.
func TestStartLeavesARunningServerAlone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	inst := installation(t, ctx)
	dir := t.TempDir()
	first, err := localpg.Start(ctx, localpg.Options{Installation: inst, DataDir: dir})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer func() { _ = first.Stop(context.Background()) }()

	if second, err := localpg.Start(ctx, localpg.Options{Installation: inst, DataDir: dir}); err == nil {
		_ = second.Stop(context.Background())
		t.Fatal("a second start on a running data directory succeeded")
	} else if !strings.Contains(err.Error(), "already running") {
		t.Errorf("second start: %v; want it to say the server is already running", err)
	}
	cmd := exec.CommandContext(ctx, inst.Psql(), "-X", "-A", "-t", "-c", "select 1")
	cmd.Env = first.Env()
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("the first server after the second start: %v %s", err, out)
	}
}
