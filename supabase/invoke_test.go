package supabase_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
)

// received is one request the fake function got.
type received struct {
	Method string
	Header http.Header
	Body   map[string]any
}

// fakeFunction records every request and answers 200 with a small JSON report.
type fakeFunction struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []received
}

func newFakeFunction(t *testing.T) *fakeFunction {
	f := &fakeFunction{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		f.mu.Lock()
		f.got = append(f.got, received{Method: r.Method, Header: r.Header.Clone(), Body: body})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"completed"}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeFunction) requests() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.got...)
}

// sign is the contract's signature, computed independently of the SQL: v1=<hex HMAC-SHA256(secret, "v1:"+ts)>.
func sign(secret, ts string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v1:" + ts))
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

func storeSecrets(t *testing.T, conn *pgx.Conn, fnURL, secret string) {
	t.Helper()
	ctx := context.Background()
	if fnURL != "" {
		if _, err := conn.Exec(ctx, `select vault.create_secret($1, 'scenario_scheduler_url')`, fnURL); err != nil {
			t.Fatal(err)
		}
	}
	if secret != "" {
		if _, err := conn.Exec(ctx, `select vault.create_secret($1, 'scenario_scheduler_secret', 'SCHEDULER_SECRET of the function')`, secret); err != nil {
			t.Fatal(err)
		}
	}
}

// invokeQueued calls scheduler.invoke in a transaction and, before committing (so that a real pg_net worker
// has not taken it yet), reads the request pg_net queued, as text, with its timeout.
func invokeQueued(t *testing.T, conn *pgx.Conn, call string) (id int64, queued string, timeoutMS int) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, call).Scan(&id); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `select q::text, q.timeout_milliseconds from net.http_request_queue q where q.id = $1`, id).
			Scan(&queued, &timeoutMS)
	})
	if err != nil {
		t.Fatalf("%s: %v", call, err)
	}
	return id, queued, timeoutMS
}

func TestInvokeSendsSignedRequest(t *testing.T) {
	db := servedDatabase(t)
	conn := db.Conn
	fn := newFakeFunction(t)
	secret := "s3cret-" + randomHex(t, 20)
	storeSecrets(t, conn, fn.srv.URL+"/scheduler", secret)

	cases := []struct {
		name, call string
		wantBody   map[string]any
	}{
		{"daily job", `select scheduler.invoke()`,
			map[string]any{"trigger": "cron", "job": "scenario-scheduler-daily"}},
		{"split job", `select scheduler.invoke(array['milestone'], 'scenario-scheduler-milestone')`,
			map[string]any{"trigger": "cron", "job": "scenario-scheduler-milestone", "scenarios": []any{"milestone"}}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Unix()
			id, queued, timeoutMS := invokeQueued(t, conn, tc.call)
			after := time.Now().Unix()

			// What waits in pg_net's queue (readable by every role) holds no secret.
			if strings.Contains(queued, secret) {
				t.Errorf("the queued request contains the raw secret: %s", queued)
			}
			// Longer than the function's 30 s budget, so pg_net records the answer and not a timeout.
			if timeoutMS <= 30000 {
				t.Errorf("timeout_milliseconds = %d, want more than the function's 30 s deadline", timeoutMS)
			}

			resp := awaitResponse(t, db, id)
			if resp.Status != http.StatusOK {
				t.Fatalf("net._http_response: status %d (%s), want 200", resp.Status, resp.Content)
			}
			reqs := fn.requests()
			if len(reqs) != i+1 {
				t.Fatalf("the function got %d requests, want %d", len(reqs), i+1)
			}
			got := reqs[i]
			if got.Method != http.MethodPost {
				t.Errorf("method %s, want POST", got.Method)
			}
			if ct := got.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if s := got.Header.Get("X-Scheduler-Secret"); s != "" {
				t.Errorf("the raw secret was sent in X-Scheduler-Secret")
			}
			ts := got.Header.Get("X-Scheduler-Timestamp")
			unix, err := strconv.ParseInt(ts, 10, 64)
			if err != nil || unix < before || unix > after {
				t.Errorf("X-Scheduler-Timestamp %q, want unix seconds between %d and %d", ts, before, after)
			}
			if sig, want := got.Header.Get("X-Scheduler-Signature"), sign(secret, ts); sig != want {
				t.Errorf("X-Scheduler-Signature %q, want %q (HMAC-SHA256 computed in Go)", sig, want)
			}
			for k, vs := range got.Header {
				for _, v := range vs {
					if strings.Contains(v, secret) {
						t.Errorf("header %s carries the raw secret", k)
					}
				}
			}
			if diff := cmp.Diff(tc.wantBody, got.Body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// The signature SQL produces for a fixed timestamp equals Go's, also for a secret with characters that
// need care in SQL and JSON.
func TestSignatureMatchesGo(t *testing.T) {
	db := servedDatabase(t)
	conn := db.Conn
	fn := newFakeFunction(t)
	secret := `it's a "secret" \ with ünïcode ` + randomHex(t, 8)
	storeSecrets(t, conn, fn.srv.URL, secret)
	id, _, _ := invokeQueued(t, conn, `select scheduler.invoke()`)
	awaitResponse(t, db, id)
	got := fn.requests()[0].Header
	ts := got.Get("X-Scheduler-Timestamp")
	if sig, want := got.Get("X-Scheduler-Signature"), sign(secret, ts); sig != want {
		t.Errorf("signature %q, want %q", sig, want)
	}
	var fixed string
	if err := conn.QueryRow(context.Background(),
		`select 'v1=' || encode(extensions.hmac('v1:' || '1764000000', $1, 'sha256'), 'hex')`, secret).Scan(&fixed); err != nil {
		t.Fatal(err)
	}
	if want := sign(secret, "1764000000"); fixed != want {
		t.Errorf("extensions.hmac gives %q, Go gives %q", fixed, want)
	}
}

func TestInvokeNamesMissingVaultEntries(t *testing.T) {
	t.Run("no vault", func(t *testing.T) {
		conn := connect(t, pgtestDatabase(t))
		if realExtension(t, conn, "supabase_vault") {
			t.Skip("Vault is installed on this server")
		}
		_, err := conn.Exec(context.Background(), `select scheduler.invoke()`)
		if err == nil || !strings.Contains(err.Error(), "Supabase Vault is not installed") {
			t.Fatalf("got %v, want an error saying Vault is not installed", err)
		}
	})
	t.Run("no pg_net", func(t *testing.T) {
		dbURL, conn := withStandIns(t)
		if realExtension(t, conn, "pg_net") {
			t.Skip("pg_net is installed on this server")
		}
		storeSecrets(t, conn, "http://127.0.0.1:9/", "the-secret-"+randomHex(t, 8))
		admin := connect(t, pgtest.AdminURL(t, dbURL))
		if _, err := admin.Exec(context.Background(), `drop schema net cascade`); err != nil {
			t.Fatal(err)
		}
		_, err := conn.Exec(context.Background(), `select scheduler.invoke()`)
		if err == nil || !strings.Contains(err.Error(), "pg_net is not installed") {
			t.Fatalf("got %v, want an error saying pg_net is not installed", err)
		}
	})
	t.Run("no url", func(t *testing.T) {
		_, conn := withStandIns(t)
		storeSecrets(t, conn, "", "the-secret-"+randomHex(t, 8))
		_, err := conn.Exec(context.Background(), `select scheduler.invoke()`)
		if err == nil || !strings.Contains(err.Error(), `"scenario_scheduler_url" is missing`) || sqlState(err) != "55000" {
			t.Fatalf("got %v, want SQLSTATE 55000 naming scenario_scheduler_url", err)
		}
		if strings.Contains(err.Error(), "the-secret-") {
			t.Errorf("the error reveals the secret: %v", err)
		}
	})
	t.Run("no secret", func(t *testing.T) {
		_, conn := withStandIns(t)
		storeSecrets(t, conn, "http://127.0.0.1:9/", "")
		_, err := conn.Exec(context.Background(), `select scheduler.invoke()`)
		if err == nil || !strings.Contains(err.Error(), `"scenario_scheduler_secret" is missing`) {
			t.Fatalf("got %v, want an error naming scenario_scheduler_secret", err)
		}
		var queued int
		if err := conn.QueryRow(context.Background(), `select count(*) from net.http_request_queue`).Scan(&queued); err != nil {
			t.Fatal(err)
		}
		if queued != 0 {
			t.Errorf("%d requests queued after a failed invoke, want 0", queued)
		}
	})
}
