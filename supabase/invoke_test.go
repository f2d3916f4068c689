package supabase_test

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

// received is one request the fake function got.
type received struct {
	Method string
	Path   string
	Header http.Header
	Raw    []byte
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
		f.got = append(f.got, received{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Raw: raw, Body: body})
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

// goSignature is the signature the Go verifier expects for a received request: computed by adapters/httpfn
// from the decoded body, independently of the SQL signer.
func goSignature(t *testing.T, secret string, r received) string {
	t.Helper()
	b, err := httpfn.DecodeSigned(r.Header.Get("Content-Type"), r.Raw)
	if err != nil {
		t.Fatalf("the signed body %s does not decode strictly: %v", r.Raw, err)
	}
	ts, err := strconv.ParseInt(r.Header.Get(httpfn.TimestampHeader), 10, 64)
	if err != nil {
		t.Fatalf("timestamp %q", r.Header.Get(httpfn.TimestampHeader))
	}
	return httpfn.SignWithNonce(secret, time.Unix(ts, 0), r.Header.Get(httpfn.NonceHeader), r.Method, r.Path, b).Value
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

	var role string
	if err := conn.QueryRow(context.Background(), `select session_user`).Scan(&role); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, call string
		wantBody   map[string]any
	}{
		{"daily job", `select scheduler.invoke(null, 'scenario-scheduler-daily')`,
			map[string]any{"trigger": "cron", "job": "scenario-scheduler-daily"}},
		{"split job", `select scheduler.invoke(array['milestone'], 'scenario-scheduler-milestone')`,
			map[string]any{"trigger": "cron", "job": "scenario-scheduler-milestone", "scenarios": []any{"milestone"}}},
		// By hand, without a job: a manual call that names the role, never a cron job.
		{"manual call", `select scheduler.invoke()`,
			map[string]any{"trigger": "manual", "caller": role}},
		{"manual call for one scenario", `select scheduler.invoke(array['inactivity'])`,
			map[string]any{"trigger": "manual", "caller": role, "scenarios": []any{"inactivity"}}},
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
			if n := got.Header.Get(httpfn.NonceHeader); len(n) != 32 || strings.Trim(n, "0123456789abcdef") != "" {
				t.Errorf("X-Scheduler-Nonce %q, want 32 lowercase hex digits", n)
			}
			if got.Path != "/scheduler" {
				t.Errorf("path %q, want /scheduler", got.Path)
			}
			if sig, want := got.Header.Get("X-Scheduler-Signature"), goSignature(t, secret, got); sig != want {
				t.Errorf("X-Scheduler-Signature %q, want %q (computed in Go)", sig, want)
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

// The signature SQL produces equals Go's, for the request invoke() sends (a secret with characters that
// need care in SQL and JSON) and for many bodies: scheduler.canonical_request and request_signature give
// the same text and signature as httpfn.Canonical and httpfn.SignWithNonce for every body the strict decoder
// accepts, and refuse (22023) every body it refuses for a field the signature does not cover.
func TestSignatureMatchesGo(t *testing.T) {
	db := servedDatabase(t)
	conn := db.Conn
	fn := newFakeFunction(t)
	secret := `it's a "secret" \ with ünïcode ` + randomHex(t, 8)
	storeSecrets(t, conn, fn.srv.URL, secret)
	id, _, _ := invokeQueued(t, conn, `select scheduler.invoke(null, 'scenario-scheduler-daily')`)
	awaitResponse(t, db, id)
	got := fn.requests()[0]
	if got.Path != "/" {
		t.Errorf("path %q for a URL without one, want /", got.Path)
	}
	if sig, want := got.Header.Get(httpfn.SignatureHeader), goSignature(t, secret, got); sig != want {
		t.Errorf("signature %q, want %q", sig, want)
	}

	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	checked := 0
	// 500 random bodies: a tenth carry an uncovered field and about one in seven a shard or slot with
	// deliver_only, which both sides refuse; about 390 are compared (standard deviation about 7), far above
	// the 300 required below. (400 left about 310 once slots were added: a run under the bound now and then.)
	for i := range 500 {
		fields := map[string]any{}
		if rng.IntN(2) == 0 {
			fields["evaluation_date"] = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(400)).Format("2006-01-02")
		}
		if rng.IntN(2) == 0 {
			names := []string{}
			for _, s := range rng.Perm(3)[:rng.IntN(4)] {
				names = append(names, []string{"inactivity", "milestone", "certification_expiry"}[s])
			}
			fields["scenarios"] = names
		}
		for _, k := range []string{"dry_run", "deliver_only"} {
			if rng.IntN(2) == 0 {
				fields[k] = rng.IntN(2) == 0
			}
		}
		switch rng.IntN(4) {
		case 0:
			fields["trigger"], fields["job"] = "cron", pick("scenario-scheduler-daily", "j", "A.b-c_9")
		case 1:
			fields["job"] = pick("scenario-scheduler-catch-up", "x")
		case 2:
			fields["trigger"], fields["caller"] = "manual", pick("postgres", "Ops.Person_1", "a-b")
		default:
			if rng.IntN(2) == 0 {
				fields["trigger"] = pick("http", "catch-up", "cron")
			}
		}
		// A shard, sometimes; with deliver_only both sides refuse it.
		refused := false
		if rng.IntN(3) == 0 {
			n := 1 + rng.IntN(engine.MaxShards)
			fields["shard"] = strconv.Itoa(1+rng.IntN(n)) + "/" + strconv.Itoa(n)
			refused = fields["deliver_only"] == true
		}
		// A slot, sometimes (east, west, three-part names, a '+' in the name); with deliver_only refused too.
		if rng.IntN(3) == 0 {
			fields["slot"] = pick("Europe/Oslo@08", "America/New_York@07", "Asia/Tokyo@23", "Etc/GMT+5@00",
				"America/Argentina/Buenos_Aires@12", "UTC@06")
			refused = refused || fields["deliver_only"] == true
		}
		uncovered := i%10 == 9
		if uncovered {
			fields[pick("note", "Dry_Run", "x")] = pick("1", "true")
		}
		raw, err := json.Marshal(fields)
		if err != nil {
			t.Fatal(err)
		}
		ts := strconv.FormatInt(1_700_000_000+rng.Int64N(200_000_000), 10)
		nonce := randomHex(t, 8+rng.IntN(24))
		method := pick("POST", "post", "PUT")
		path := pick("/", "", "/fn", "/a/b%20c", "/scenario-scheduler")

		b, decErr := httpfn.DecodeSigned("application/json", raw)
		var canonical, signature string
		sqlErr := conn.QueryRow(ctx, `select scheduler.canonical_request($1, $2, $3, $4, $5::jsonb),
			scheduler.request_signature($6, $1, $2, $3, $4, $5::jsonb)`, ts, nonce, method, path, string(raw), secret).
			Scan(&canonical, &signature)
		if uncovered || refused {
			if decErr == nil || sqlState(sqlErr) != "22023" {
				t.Errorf("body %s with a field the signature does not cover: Go %v, SQL %v; want both refused", raw, decErr, sqlErr)
			}
			continue
		}
		if decErr != nil {
			t.Fatalf("body %s: the decoder refuses it: %v", raw, decErr)
		}
		if sqlErr != nil {
			t.Fatalf("body %s: %v", raw, sqlErr)
		}
		unix, _ := strconv.ParseInt(ts, 10, 64)
		if want := httpfn.Canonical(ts, nonce, method, path, b); canonical != want {
			t.Errorf("body %s: SQL canonical\n%s\nGo\n%s", raw, canonical, want)
		}
		if want := httpfn.SignWithNonce(secret, time.Unix(unix, 0), nonce, method, path, b).Value; signature != want {
			t.Errorf("body %s: SQL signature %s, Go %s", raw, signature, want)
		}
		checked++
	}
	if checked < 300 {
		t.Fatalf("only %d bodies compared", checked)
	}
	// Wrong types are refused by both as well.
	for _, raw := range []string{`{"dry_run":"true"}`, `{"scenarios":"inactivity"}`, `{"scenarios":[1]}`, `{"job":null}`, `[]`,
		`{"shard":""}`, `{"shard":"0/4"}`, `{"shard":"5/4"}`, `{"shard":"1/65"}`, `{"shard":"01/4"}`, `{"shard":" 1/4"}`,
		`{"shard":4}`, `{"shard":null}`, `{"shard":"1/4","deliver_only":true}`,
		`{"slot":""}`, `{"slot":"Europe/Oslo"}`, `{"slot":"Europe/Oslo@8"}`, `{"slot":"Europe/Oslo@24"}`, `{"slot":8}`,
		`{"slot":null}`, `{"slot":"../etc/passwd@08"}`, `{"slot":"Europe/Oslo@08 "}`, `{"slot":"Europe/Oslo@08","deliver_only":true}`} {
		_, decErr := httpfn.DecodeSigned("application/json", []byte(raw))
		_, sqlErr := conn.Exec(ctx, `select scheduler.canonical_request('1', 'n', 'POST', '/', $1::jsonb)`, raw)
		if decErr == nil || sqlState(sqlErr) != "22023" {
			t.Errorf("body %s: Go %v, SQL %v; want both refused", raw, decErr, sqlErr)
		}
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

// A manual call names the role that made it, in the characters the function's decoder accepts: a role
// name with spaces or symbols cannot break the body or the signature.
func TestManualCallerIsSanitised(t *testing.T) {
	dbURL, conn := withStandIns(t)
	storeSecrets(t, conn, "http://127.0.0.1:9/fn", "the-secret-"+randomHex(t, 8))
	ctx := context.Background()
	role := "ops person+" + randomHex(t, 3)
	var body []byte
	// SET SESSION AUTHORIZATION needs the administrator (DATABASE_URL's postgres is not a superuser).
	inRolledBackTx(t, connect(t, pgtest.AdminURL(t, dbURL)), func(tx pgx.Tx) {
		for _, q := range []string{
			`create role ` + pgx.Identifier{role}.Sanitize(),
			`grant usage on schema scheduler to ` + pgx.Identifier{role}.Sanitize(),
			`grant execute on function scheduler.invoke(text[], text, boolean, integer, text, date) to ` + pgx.Identifier{role}.Sanitize(),
			`set local session authorization ` + pgx.Identifier{role}.Sanitize(),
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		var id int64
		if err := tx.QueryRow(ctx, `select scheduler.invoke()`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `reset session authorization`); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRow(ctx, `select body from net.http_request_queue where id = $1`, id).Scan(&body); err != nil {
			t.Fatal(err)
		}
	})
	b, err := httpfn.DecodeSigned("application/json", body)
	if err != nil {
		t.Fatalf("the function would refuse the manual call's body %s: %v", body, err)
	}
	if want := "manual:ops_person_" + role[len("ops person+"):]; b.Request().Trigger != want {
		t.Errorf("trigger %q, want %q", b.Request().Trigger, want)
	}
}
