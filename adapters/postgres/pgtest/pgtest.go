// Package pgtest gives each test its own migrated PostgreSQL database, created from a template that is
// migrated once per set of migrations. Tests run against the server in DATABASE_URL (`task test` starts
// a throw-away cluster and sets it); without it they skip, except under CI=true, where they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// ServerURL returns DATABASE_URL, or skips the test when it is unset (fails it under CI=true, where a
// skipped database test would hide a broken setup).
func ServerURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("DATABASE_URL is not set: database tests must run in CI (run them with `go tool task test`)")
		}
		t.Skip("DATABASE_URL is not set; `go tool task test` starts a PostgreSQL cluster and sets it")
	}
	return url
}

// What a test database starts with.
type contents int

const (
	empty    contents = iota // nothing: migration tests
	migrated                 // the migrations: what `supabase db push` sends, the contract's placeholders
	withApp                  // the migrations, then the reference app schema and its mapping
)

// NewDatabase creates a fresh, migrated database for this test with the reference app schema and its source
// mapping loaded (supabase.Reference()), drops it when the test ends, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return createDatabase(t, withApp)
}

// NewMigratedDatabase creates a fresh database with the migrations applied and nothing else: what a
// production project has after `supabase db push`, the source contract's views still the empty placeholders.
func NewMigratedDatabase(t testing.TB) string {
	t.Helper()
	return createDatabase(t, migrated)
}

// NewEmptyDatabase creates a fresh database with no migrations applied (for migration tests).
func NewEmptyDatabase(t testing.TB) string {
	t.Helper()
	return createDatabase(t, empty)
}

func createDatabase(t testing.TB, with contents) string {
	t.Helper()
	server := ServerURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connecting to DATABASE_URL: %v", err)
	}
	defer admin.Close(ctx)
	tmpl := "template0"
	if with != empty {
		if tmpl, err = ensureTemplate(ctx, admin, server, with == withApp); err != nil {
			t.Fatalf("preparing the template database: %v", err)
		}
	}
	name := "test_" + randomHex(6)
	dbURL, err := postgres.WithDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`create database %s template %s`, name, tmpl)); err != nil {
		t.Fatalf("creating the test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// As the administrator where there is one: (force) must end every session, an administrator's too.
		dropURL := server
		if admin := os.Getenv(AdminURLVar); admin != "" {
			dropURL = admin
		}
		c, err := pgx.Connect(ctx, dropURL)
		if err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, fmt.Sprintf(`drop database if exists %s with (force)`, name)); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	return dbURL
}

// NewPool is NewDatabase with a pool on it, configured as the store configures its own (postgres.Open),
// closed when the test ends.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	store, err := postgres.Open(context.Background(), postgres.Config{URL: NewDatabase(t)})
	if err != nil {
		t.Fatalf("connecting to the test database: %v", err)
	}
	t.Cleanup(store.Close)
	return store.Pool()
}

// ensureTemplate creates and migrates scheduler_tmpl_<hash of the migrations (and the reference app)> once,
// loading the reference app when app is set; concurrent test processes wait for each other on an advisory lock.
func ensureTemplate(ctx context.Context, admin *pgx.Conn, server string, app bool) (string, error) {
	ms, err := postgres.LoadMigrations(supabase.Migrations)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		fmt.Fprintf(h, "%s\x00%s\x00", m.Version, m.SQL)
	}
	if app {
		fmt.Fprintf(h, "reference\x00%s\x00", supabase.Reference())
	}
	name := "scheduler_tmpl_" + hex.EncodeToString(h.Sum(nil))[:12]

	if _, err := admin.Exec(ctx, `select pg_advisory_lock(hashtext('pgtest template'))`); err != nil {
		return "", err
	}
	defer admin.Exec(context.WithoutCancel(ctx), `select pg_advisory_unlock(hashtext('pgtest template'))`) //nolint:errcheck

	var exists bool
	if err := admin.QueryRow(ctx, `select exists (select 1 from pg_database where datname = $1 and datistemplate)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`drop database if exists %s`, name)); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`create database %s`, name)); err != nil {
		return "", err
	}
	tmplURL, err := postgres.WithDatabase(server, name)
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, tmplURL)
	if err != nil {
		return "", err
	}
	_, err = postgres.Migrate(ctx, conn, ms)
	if err == nil && app {
		err = postgres.ApplySQL(ctx, conn, supabase.Reference())
	}
	conn.Close(ctx)
	if err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`alter database %s is_template true`, name)); err != nil {
		return "", err
	}
	return name, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// AdminURLVar names the variable with an administrator's URL for the server in DATABASE_URL (localpg sets
// it: its clusters have a non-superuser postgres role, as on Supabase, and an administrative superuser).
const AdminURLVar = "ADMIN_DATABASE_URL"

// AdminURL returns a URL for dbURL's database as an administrator, for what only an administrator may do
// (loading the stand-ins for Supabase's extensions, creating pgTAP's extension): ADMIN_DATABASE_URL's user,
// or dbURL's own user when it is a superuser (a DATABASE_URL given by hand). Otherwise it skips the test,
// or fails it under CI=true.
func AdminURL(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if admin := os.Getenv(AdminURLVar); admin != "" {
		a, err := postgres.WithDatabase(admin, name)
		if err != nil {
			t.Fatalf("%s: %v", AdminURLVar, err)
		}
		return a
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer conn.Close(ctx)
	var super bool
	if err := conn.QueryRow(ctx, `select rolsuper from pg_roles where rolname = current_user`).Scan(&super); err != nil {
		t.Fatal(err)
	}
	if super {
		return dbURL
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set and DATABASE_URL's user is not a superuser: this test needs an administrator", AdminURLVar)
	}
	t.Skipf("%s is not set and DATABASE_URL's user is not a superuser; `go tool task test` sets it", AdminURLVar)
	return ""
}
