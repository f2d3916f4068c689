package verify_test

import (
	"bytes"
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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/functions/config"
	"github.com/peermentor/scenario-scheduler/functions/wire"
	"github.com/peermentor/scenario-scheduler/infra/dev/verify"
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
	// The reference app and its source mapping, then the demo data: a dry run has mentors to evaluate.
	if err := postgres.ApplySQL(ctx, b.admin, supabase.Reference()); err != nil {
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
// function served over real HTTP on loopback, wired as the entry points wire it (functions/wire) from an
// environment whose DATABASE_URL connects as the least-privileged function role.
func TestLocalStack(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	secret := randomHex(32)
	// The local stack's function sends no push (PUSH_SENDER=none): verify checks the choice is made.
	env := map[string]string{config.DatabaseURL: b.functionRoleURL(t), config.Secret: secret, config.PushSender: config.SenderNone}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	// The function's log, as a platform keeps it: check 4 reads its cold-start configuration line.
	var logs syncBuffer
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&logs), zap.InfoLevel))
	sched, err := wire.New(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	handler, closeHandler := sched.Handler, sched.Close
	defer closeHandler()
	srv := httptest.NewServer(handler)
	defer srv.Close()

	b.standIns(t)
	b.storeSecrets(t, srv.URL+"/", secret)
	standInWorker(t, b.serverURL, srv.URL)

	rep := verify.Run(ctx, verify.Target{
		DatabaseURL: b.serverURL,
		ScratchURL:  b.serverURL,
		FunctionURL: srv.URL + "/",
		Secret:      secret,
		Migrations:  b.ms,
		StandIns:    true,
		Logs:        logs.String,
		SupabaseCLI: pinnedCLI(t),
	})
	md := rep.Markdown()
	// `task verify:local` runs this test verbosely: the checks, one line each, the task's five first.
	fmt.Print("\n" + rep.Summary() + "\n")
	if *reportPath != "" {
		if err := os.WriteFile(*reportPath, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(rep.Results) != 15 {
		t.Errorf("%d checks ran, want 15", len(rep.Results))
	}
	// A fresh project's migrations schedule the task's daily job itself, not another schedule checked instead.
	if len(rep.Results) > 0 && !strings.Contains(rep.Results[0].Detail, "scenario-scheduler-daily is scheduled at 0 6 * * *") {
		t.Errorf("check 1: %q, want the migrated daily job at 0 6 * * *", rep.Results[0].Detail)
	}
	// The original task's checklist first, in its order.
	for i, want := range []string{"scenario-scheduler-daily", "correct secret", "without the secret", "environment variable", "migrations twice"} {
		if i >= len(rep.Results) || rep.Results[i].ID != strconv.Itoa(i+1) || !strings.Contains(rep.Results[i].Title, want) {
			t.Errorf("check %d is not the task's %q", i+1, want)
		}
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

	// A database without pg_cron, Vault or pg_net, where the function role was given a table, and a migration
	// that is not idempotent.
	noCron := pgtest.NewDatabase(t)
	c, err := pgx.Connect(ctx, noCron)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `grant select on scheduler.runs to scenario_scheduler`); err != nil {
		t.Fatal(err)
	}
	// A change feed that notes inserts and updates of certifications but not their deletes.
	if _, err := c.Exec(ctx, `drop trigger certifications_feed_delete on public.certifications`); err != nil {
		t.Fatal(err)
	}
	broken := append(append([]postgres.Migration(nil), b.ms...), postgres.Migration{
		Version: "29991231235959", Name: "not_idempotent",
		SQL: `create table if not exists public.t (n int); insert into public.t values (1)`,
	})

	// Where the server preloads pg_net, its worker serves another database than this fresh one: check 7 fails
	// for that first.
	noPgNet := "pg_net is not installed"
	var preload string
	if err := c.QueryRow(ctx, `select current_setting('shared_preload_libraries')`).Scan(&preload); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(preload, "pg_net") {
		noPgNet = "requests queued here are never sent"
	}

	rep := verify.Run(ctx, verify.Target{DatabaseURL: noCron, ScratchURL: b.serverURL, FunctionURL: careless.URL, Secret: secret, Migrations: broken})
	want := map[string]string{
		"1":  "pg_cron is not installed",
		"2":  `status "failed"`,
		"3":  "no secret: status 200, want 401",
		"4":  "no configuration",
		"5":  "catalog facts differ",
		"6":  "Supabase Vault is not installed",
		"7":  noPgNet,
		"8":  "more than intended: select on scheduler.runs",
		"9":  "pg_cron is not installed",
		"10": "pg_cron is not installed",
		"11": "Supabase Vault is not installed",
		"12": `status "failed"`,
		"13": "wrong secret: status 200, want 401",
		"14": "something other than set/unset for DATABASE_URL",
		"15": "the change feed is partly installed: no trigger notes certifications",
	}
	if len(rep.Results) != len(want) {
		t.Errorf("%d checks ran, want %d", len(rep.Results), len(want))
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

// Without an explicit scratch server the migration check is skipped: verify never creates a database on the
// project's server by default.
func TestNoScratchServerByDefault(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	count := func() int {
		var n int
		if err := b.admin.QueryRow(ctx, `select count(*) from pg_database where datname like 'verify_scratch_%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	var created bool
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // watch for a scratch database appearing while verify runs
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				if count() > before {
					created = true
				}
			}
		}
	}()
	rep := verify.Run(ctx, verify.Target{DatabaseURL: b.serverURL, FunctionURL: "http://127.0.0.1:9/", Migrations: b.ms, AnswerWait: time.Second})
	close(stop)
	<-done
	fifth := rep.Results[4]
	if fifth.ID != "5" || fifth.Outcome != verify.Skip || !strings.Contains(fifth.Detail, "no scratch server given") {
		t.Errorf("check %s: %s %q, want 5 skipped for want of a scratch server", fifth.ID, fifth.Outcome, fifth.Detail)
	}
	if created {
		t.Error("a scratch database was created on the project's server")
	}
}

// pinnedCLI is the Supabase CLI that `go tool task setup:supabase` installs ("" when it is not installed:
// check 5 then fails, saying so).
func pinnedCLI(t *testing.T) string {
	t.Helper()
	cli, err := filepath.Abs("../supabase-cli/node_modules/.bin/supabase")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cli); err != nil {
		return ""
	}
	return cli
}

// syncBuffer is a log destination that may be read while the function writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// standInsLock serialises loading the stand-ins into the database pg_cron and pg_net serve with the tests of
// package supabase that use it (the same lock as its servedDatabase).
const standInsLock = `hashtext('scheduler tests: the database pg_net serves')`

// standIns loads the TEST-ONLY pg_net and Vault stand-ins (supabase/testdata; the real extensions are not
// packaged for Debian) into the cron database for this test, and removes what it created afterwards.
func (b *testBundle) standIns(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if _, err := b.admin.Exec(ctx, `select pg_advisory_lock(`+standInsLock+`)`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = b.admin.Exec(context.Background(), `select pg_advisory_unlock(`+standInsLock+`)`) })
	// The stand-ins belong to the administrative role, as pg_net and Vault do on Supabase.
	superuser, err := pgx.Connect(ctx, pgtest.AdminURL(t, b.serverURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { superuser.Close(context.Background()) })
	var hadNet, hadVault bool
	if err := superuser.QueryRow(ctx, `select to_regnamespace('net') is not null, to_regnamespace('vault') is not null`).
		Scan(&hadNet, &hadVault); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("../../../supabase/testdata/pg_net_vault_stand_ins.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.ApplySQL(ctx, superuser, string(script)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for schema, had := range map[string]bool{"net": hadNet, "vault": hadVault} {
			if !had {
				if _, err := superuser.Exec(context.Background(), `drop schema if exists `+schema+` cascade`); err != nil {
					t.Error(err)
				}
			}
		}
	})
}

// storeSecrets puts the function's URL and secret into Vault, removed when the test ends.
func (b *testBundle) storeSecrets(t *testing.T, fnURL, secret string) {
	t.Helper()
	storeSecrets(t, b.admin, fnURL, secret)
}

func storeSecrets(t *testing.T, conn *pgx.Conn, fnURL, secret string) {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `delete from vault.secrets where name in ('scenario_scheduler_url', 'scenario_scheduler_secret')`); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"scenario_scheduler_url": fnURL, "scenario_scheduler_secret": secret} {
		if v == "" {
			continue
		}
		if _, err := conn.Exec(ctx, `select vault.create_secret($1, $2)`, v, name); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), `delete from vault.secrets where name in ('scenario_scheduler_url', 'scenario_scheduler_secret')`)
	})
}

// standInWorker plays pg_net's worker for the stand-in until the test ends: it takes queued requests to URLs
// starting with prefix, sends them over HTTP and records the answer, or the connection error, as pg_net does.
func standInWorker(t *testing.T, dbURL, prefix string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done; conn.Close(context.Background()) })
	go func() {
		defer close(done)
		client := &http.Client{Timeout: 10 * time.Second}
		for ctx.Err() == nil {
			var (
				id             int64
				method, target string
				headers        map[string]string
				body           []byte
			)
			err := conn.QueryRow(ctx, `delete from net.http_request_queue where id = (
				select id from net.http_request_queue where starts_with(url, $1) order by id limit 1)
				returning id, method, url, headers, body`, prefix).Scan(&id, &method, &target, &headers, &body)
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			req, _ := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				_, _ = conn.Exec(ctx, `insert into net._http_response (id, error_msg, timed_out, created) values ($1, $2, false, clock_timestamp())`, id, err.Error())
				continue
			}
			content, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			_, _ = conn.Exec(ctx, `insert into net._http_response (id, status_code, content, timed_out, created)
				values ($1, $2, $3, false, clock_timestamp())`, id, resp.StatusCode, string(content))
		}
	}()
}

// A function that leaves PUSH_SENDER unset (the log sender by default: pushes marked sent, never sent) fails
// the health check.
func TestHealthRequiresPushSender(t *testing.T) {
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok","config":{"DATABASE_URL":"set","SCHEDULER_SECRET":"set","PUSH_SENDER":"unset"}}`)
	}))
	defer fn.Close()
	r := verify.Health(context.Background(), fn.URL)
	if r.Outcome != verify.Fail || !strings.Contains(r.Detail, "required configuration missing: PUSH_SENDER") {
		t.Errorf("%s %q, want a failure naming PUSH_SENDER", r.Outcome, r.Detail)
	}
}
