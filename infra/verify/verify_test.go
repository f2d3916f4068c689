package verify_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/functions/config"
	"github.com/peermentor/scenario-scheduler/infra/verify"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// reportPath, when set, receives the local stack's report (`task verify:local` writes docs/verify-report.md).
var reportPath = flag.String("report", "", "write TestLocalStack's Markdown report to this file")

type testBundle struct {
	serverURL string
	admin     *pgx.Conn
	ms        []postgres.Migration
}

// setup migrates DATABASE_URL's own database, where pg_cron runs, and loads the demo data.
func setup(t *testing.T) *testBundle {
	t.Helper()
	ctx := context.Background()
	b := &testBundle{serverURL: pgtest.ServerURL(t)}
	var err error
	if b.admin, err = pgx.Connect(ctx, b.serverURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.admin.Close(context.Background()) })
	if b.ms, err = postgres.LoadMigrations(supabase.Migrations); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Migrate(ctx, b.admin, b.ms); err != nil {
		t.Fatal(err)
	}
	if err := postgres.ApplySQL(ctx, b.admin, supabase.Seed); err != nil {
		t.Fatal(err)
	}
	return b
}

// functionRoleURL creates a LOGIN member of scenario_scheduler, as an operator sets the function's role
// up, and returns the server URL with it; the role is dropped when the test ends.
func (b *testBundle) functionRoleURL(t *testing.T) string {
	t.Helper()
	name, password := "verify_fn_"+randomHex(4), randomHex(16)
	if _, err := b.admin.Exec(context.Background(),
		fmt.Sprintf(`create role %s login password '%s' in role scenario_scheduler`, name, password)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := b.admin.Exec(context.Background(), `drop role if exists `+name); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(b.serverURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(name, password)
	return u.String()
}

// The whole checklist against the local stack: PostgreSQL with pg_cron and the migrations, and the
// function served over real HTTP on loopback, wired as the entry points wire it (functions/config) from an
// environment whose DATABASE_URL connects as the least-privileged function role.
func TestLocalStack(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	secret := randomHex(32)
	env := map[string]string{config.DatabaseURL: b.functionRoleURL(t), config.Secret: secret, config.PushSender: config.SenderNone}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	handler, closeHandler, err := cfg.Handler(ctx, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer closeHandler()
	srv := httptest.NewServer(handler)
	defer srv.Close()

	rep := verify.Run(ctx, verify.Target{
		DatabaseURL: b.serverURL,
		FunctionURL: srv.URL + "/",
		Secret:      secret,
		Migrations:  b.ms,
	})
	md := rep.Markdown()
	t.Log("\n" + md)
	if *reportPath != "" {
		if err := os.WriteFile(*reportPath, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(rep.Results) != 6 {
		t.Errorf("%d checks ran, want 6", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Outcome != verify.Pass {
			t.Errorf("check %s (%s) failed: %s\n%s", r.ID, r.Title, r.Detail, r.Evidence)
		}
	}
	if strings.Contains(md, secret) {
		t.Error("the report contains the secret")
	}
}

// Each check fails when what it checks is wrong.
func TestChecksFailOnBrokenTargets(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	secret := randomHex(32)
	// A function that lets everyone in, reports a value in its health answer and lacks a required variable.
	careless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, `{"status":"ok","config":{"DATABASE_URL":"postgres://u:p@db/x","SCHEDULER_SECRET":"unset"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"run_id":"r1","evaluation_date":"2026-11-26","status":"failed","trigger":"http","dry_run":true,"scenarios":[]}`)
	}))
	defer careless.Close()

	// A database without pg_cron, and a migration that is not idempotent.
	noCron := pgtest.NewDatabase(t)
	broken := append(append([]postgres.Migration(nil), b.ms...), postgres.Migration{
		Version: "29991231235959", Name: "not_idempotent",
		SQL: `create table if not exists public.t (n int); insert into public.t values (1)`,
	})

	rep := verify.Run(ctx, verify.Target{DatabaseURL: noCron, ScratchURL: b.serverURL, FunctionURL: careless.URL, Secret: secret, Migrations: broken})
	want := map[string]string{
		"1":  "pg_cron is not installed",
		"2":  `status "failed"`,
		"2b": `status "failed"`,
		"3":  "no secret: status 200, want 401",
		"4":  "something other than set/unset for DATABASE_URL",
		"5":  "catalog facts differ",
	}
	for _, r := range rep.Results {
		if r.Outcome != verify.Fail || !strings.Contains(r.Detail, want[r.ID]) {
			t.Errorf("check %s: %s %q, want fail mentioning %q", r.ID, r.Outcome, r.Detail, want[r.ID])
		}
	}
	if md := rep.Markdown(); !strings.Contains(md, "FAILED") || strings.Contains(md, "postgres://u:p@db") {
		t.Errorf("the report should say FAILED and never repeat a leaked value verbatim:\n%s", md)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
