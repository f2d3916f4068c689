package supabase_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
)

// TestPgTAP runs the pgTAP suite in tests/ with pg_prove, as `supabase test db` does on a Supabase
// project, against the migrated database pg_cron runs in. Where Vault is missing it loads the test
// stand-ins with a secret for the duration of the test, so the secret checks run too.
func TestPgTAP(t *testing.T) {
	conn := cronDatabase(t)
	pgProve, err := exec.LookPath("pg_prove")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pg_prove is not installed (Debian: libtap-parser-sourcehandler-pgtap-perl; `go tool task setup`)")
		}
		t.Skip("pg_prove is not installed; `go tool task setup` installs it")
	}
	files, err := filepath.Glob("tests/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no pgTAP files in tests/: %v", err)
	}
	if !realExtension(t, conn, "supabase_vault") {
		standInVault(t, conn)
	}

	cmd := exec.Command(pgProve, append([]string{"--verbose", "--failures"}, files...)...)
	cmd.Env = append(os.Environ(), libpqEnv(t, pgtest.ServerURL(t))...)
	out, err := cmd.CombinedOutput()
	t.Logf("pg_prove:\n%s", out)
	if err != nil {
		t.Fatalf("pg_prove: %v", err)
	}
	if !strings.Contains(string(out), "All tests successful") {
		t.Fatal("pg_prove did not report success")
	}
}

// standInVault loads the stand-ins into the cron database with the scheduler's two secrets, and removes
// them when the test ends (only what it created).
func standInVault(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	// infra/verify's local stack test loads them into the same database: one at a time.
	if _, err := conn.Exec(ctx, `select pg_advisory_lock(hashtext('stand-ins in the cron database'))`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), `select pg_advisory_unlock(hashtext('stand-ins in the cron database'))`)
	})
	var hadNet, hadVault bool
	if err := conn.QueryRow(ctx, `select to_regnamespace('net') is not null, to_regnamespace('vault') is not null`).
		Scan(&hadNet, &hadVault); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(standInsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.ApplySQL(ctx, conn, string(script)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if !hadVault {
			if _, err := conn.Exec(ctx, `drop schema if exists vault cascade`); err != nil {
				t.Error(err)
			}
		} else {
			if _, err := conn.Exec(ctx, `delete from vault.secrets where description = 'pgTAP test'`); err != nil {
				t.Error(err)
			}
		}
		if !hadNet {
			if _, err := conn.Exec(ctx, `drop schema if exists net cascade`); err != nil {
				t.Error(err)
			}
		}
	})
	_, err = conn.Exec(ctx, `
		select vault.create_secret(v, n, 'pgTAP test')
		from (values ('http://127.0.0.1:9/scheduler', 'scenario_scheduler_url'), ($1, 'scenario_scheduler_secret')) s(v, n)
		where not exists (select 1 from vault.secrets x where x.name = s.n)`, "pgtap-secret-"+randomHex(t, 16))
	if err != nil {
		t.Fatal(err)
	}
}

// libpqEnv turns a connection URL into PG* variables: pg_prove passes its --dbname option through in a
// way that breaks URLs with query parameters.
func libpqEnv(t *testing.T, dbURL string) []string {
	t.Helper()
	cfg, err := pgconn.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PGHOST=" + cfg.Host, "PGPORT=" + strconv.Itoa(int(cfg.Port)),
		"PGUSER=" + cfg.User, "PGDATABASE=" + cfg.Database,
	}
	if cfg.Password != "" {
		env = append(env, "PGPASSWORD="+cfg.Password)
	}
	if cfg.TLSConfig == nil {
		env = append(env, "PGSSLMODE=disable")
	}
	return env
}
