package supabase_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// standInsFile holds the test-only pg_net and Vault stand-ins.
const standInsFile = "testdata/pg_net_vault_stand_ins.sql"

// connect opens a connection closed when the test ends.
func connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// withStandIns returns a fresh migrated database with pg_net and Vault (the real extensions where the
// server has them, the test stand-ins otherwise, loaded as the administrative role) and a connection to it
// as DATABASE_URL's role, the one that applied the migrations. pg_net's worker does not serve this database:
// tests that need a request sent use servedDatabase.
func withStandIns(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	loadStandIns(t, connect(t, pgtest.AdminURL(t, dbURL)))
	return dbURL, connect(t, dbURL)
}

// loadStandIns loads the pg_net and Vault stand-ins through admin, an administrator's connection.
func loadStandIns(t *testing.T, admin *pgx.Conn) {
	t.Helper()
	script, err := os.ReadFile(standInsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.ApplySQL(context.Background(), admin, string(script)); err != nil {
		t.Fatalf("loading the pg_net and Vault stand-ins: %v", err)
	}
}

// cronDatabase migrates the server's own database (DATABASE_URL), where pg_cron runs: pg_cron can only be
// created in the database cron.database_name names, so per-test databases have no cron schema.
func cronDatabase(t *testing.T) *pgx.Conn {
	t.Helper()
	conn := connect(t, pgtest.ServerURL(t))
	ctx := context.Background()
	ms, err := postgres.LoadMigrations(supabase.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Migrate(ctx, conn, ms); err != nil {
		t.Fatalf("migrating the cron database: %v", err)
	}
	var hasCron bool
	if err := conn.QueryRow(ctx, `select to_regnamespace('cron') is not null`).Scan(&hasCron); err != nil {
		t.Fatal(err)
	}
	if !hasCron {
		if os.Getenv("CI") == "true" {
			t.Fatal("pg_cron is not installed in DATABASE_URL's database (cron.database_name)")
		}
		t.Skip("pg_cron is not installed in DATABASE_URL's database; `go tool task test` starts a cluster with it")
	}
	return conn
}

// realExtension reports whether extension name is installed in the connection's database.
func realExtension(t *testing.T, conn *pgx.Conn, name string) bool {
	t.Helper()
	var ok bool
	if err := conn.QueryRow(context.Background(), `select exists (select 1 from pg_extension where extname = $1)`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// sqlState returns err's SQLSTATE, or "" when it is not a PostgreSQL error.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// loginRole creates a LOGIN role that is a member of scenario_scheduler (as an operator would make the
// function's role a login role), dropped when the test ends, and returns dbURL with that user.
func loginRole(t *testing.T, admin *pgx.Conn, dbURL string) string {
	t.Helper()
	ctx := context.Background()
	name, password := "scheduler_fn_"+randomHex(t, 4), randomHex(t, 16)
	if _, err := admin.Exec(ctx, fmt.Sprintf(`create role %s login password '%s' in role scenario_scheduler`, name, password)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The connection may be gone by now; use a fresh one.
		c, err := pgx.Connect(context.Background(), dbURL)
		if err != nil {
			t.Errorf("dropping role %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), `drop role if exists `+name); err != nil {
			t.Errorf("dropping role %s: %v", name, err)
		}
	})
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(name, password)
	return u.String()
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// pgtestDatabase is a fresh migrated database without the stand-ins.
func pgtestDatabase(t *testing.T) string {
	t.Helper()
	return pgtest.NewDatabase(t)
}
