package supabase_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestPgTAP runs the pgTAP suite in tests/ with pg_prove, as `supabase test db` does on a Supabase
// project, against the migrated database pg_cron runs in. Where Vault is missing it loads the test
// stand-ins with a secret for the duration of the test, so the secret checks run too.
func TestPgTAP(t *testing.T) {
	db := servedDatabase(t)
	conn := db.Conn
	if !realExtension(t, conn, "pg_cron") {
		if os.Getenv("CI") == "true" {
			t.Fatal("pg_cron is not installed in the database pg_net and pg_cron serve")
		}
		t.Skip("pg_cron is not installed in the database pg_cron serves; `go tool task test` starts a cluster with it")
	}
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
	ctx := context.Background()
	// pgTAP is not a trusted extension: the administrator creates it (on Supabase: Database > Extensions).
	if _, err := db.Admin.Exec(ctx, `create extension if not exists pgtap with schema extensions`); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `
		select vault.create_secret(v, n, 'pgTAP test')
		from (values ('http://127.0.0.1:9/scheduler', 'scenario_scheduler_url'), ($1, 'scenario_scheduler_secret')) s(v, n)`,
		"pgtap-secret-"+randomHex(t, 16))
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(pgProve, append([]string{"--verbose", "--failures"}, files...)...)
	cmd.Env = append(os.Environ(), libpqEnv(t, db.URL)...)
	out, err := cmd.CombinedOutput()
	t.Logf("pg_prove:\n%s", out)
	if err != nil {
		t.Fatalf("pg_prove: %v", err)
	}
	if !strings.Contains(string(out), "All tests successful") {
		t.Fatal("pg_prove did not report success")
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
