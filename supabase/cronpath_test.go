package supabase_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// The cron path end to end: scheduler.invoke() reads Vault, pg_net (or its stand-in) sends the signed
// request to the real HTTP adapter, the engine runs as the function role (which also claims the
// signature, once), and net._http_response holds the report, which names the cron job as its trigger.
// The same request sent again, exactly as it sat in pg_net's queue, is refused and writes nothing; a call
// made by hand is recorded as manual with the role that made it. invoke() runs in the database pg_net's
// worker serves; the function runs against a fresh seeded database, so that runs other tests made in the
// shared database (today's run already completed) do not change what this one finds.
func TestCronPathEndToEnd(t *testing.T) {
	ctx := context.Background()
	db := servedDatabase(t)
	dbURL := pgtest.NewDatabase(t)
	conn := connect(t, dbURL)
	if err := postgres.ApplySQL(ctx, conn, supabase.Seed); err != nil {
		t.Fatal(err)
	}
	store, err := postgres.Open(ctx, postgres.Config{URL: loginRole(t, conn, dbURL)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	secret := randomHex(t, 32)
	srv := httptest.NewServer(httpfn.New(engine.New(store, engine.Options{}), httpfn.Config{Secret: secret, Replay: store}))
	t.Cleanup(srv.Close)
	storeSecrets(t, db.Conn, srv.URL+"/", secret)

	id, captured := invokeCaptured(t, db.Conn, `select scheduler.invoke(null, 'scenario-scheduler-daily')`)
	resp := awaitResponse(t, db, id)
	if resp.Status != http.StatusOK {
		t.Fatalf("the function answered %d: %s", resp.Status, resp.Content)
	}
	var rep engine.Report
	if err := json.Unmarshal([]byte(resp.Content), &rep); err != nil {
		t.Fatalf("net._http_response content is not a report: %v\n%s", err, resp.Content)
	}
	if rep.Trigger != "cron:scenario-scheduler-daily" || rep.Status != engine.Completed || rep.Totals().Notified == 0 {
		t.Errorf("report: trigger %q, status %s, %d notified; want cron:scenario-scheduler-daily, completed, some",
			rep.Trigger, rep.Status, rep.Totals().Notified)
	}
	var stored int
	if err := conn.QueryRow(ctx, `select count(*) from public.notifications where run_id = $1`, rep.RunID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != rep.Totals().Notified {
		t.Errorf("%d notifications stored for the run, the report says %d", stored, rep.Totals().Notified)
	}

	// Replayed from the queue, as anyone who can read net.http_request_queue could: refused, nothing written.
	before := countRows(t, conn, `select (select count(*) from scheduler.runs) + (select count(*) from public.notifications)`)
	req, _ := http.NewRequest(captured.method, captured.url, bytes.NewReader(captured.body))
	for k, v := range captured.headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer httpfn.ErrorBody
	_ = json.NewDecoder(res.Body).Decode(&answer)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || answer.Error.Message != "signature already used" {
		t.Errorf("replayed cron call: %d %+v, want 401 signature already used", res.StatusCode, answer)
	}
	if after := countRows(t, conn, `select (select count(*) from scheduler.runs) + (select count(*) from public.notifications)`); after != before {
		t.Errorf("the replay wrote %d rows", after-before)
	}

	// By hand: recorded as manual with the session's role, not as the daily job.
	var role string
	if err := db.Conn.QueryRow(ctx, `select session_user`).Scan(&role); err != nil {
		t.Fatal(err)
	}
	id, _, _ = invokeQueued(t, db.Conn, `select scheduler.invoke()`)
	resp = awaitResponse(t, db, id)
	var manual engine.Report
	if err := json.Unmarshal([]byte(resp.Content), &manual); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("manual call: %d %s", resp.Status, resp.Content)
	}
	if manual.Trigger != "manual:"+role {
		t.Errorf("manual call recorded as %q, want manual:%s", manual.Trigger, role)
	}
	if n := countRows(t, conn, `select count(*) from scheduler.runs where trigger = 'manual:`+role+`'`); n != 1 {
		t.Errorf("%d runs recorded as manual:%s, want 1", n, role)
	}
}

// queued is a request as it waits in pg_net's queue.
type queued struct {
	method, url string
	headers     map[string]string
	body        []byte
}

// invokeCaptured calls scheduler.invoke in a transaction and, before committing (so that a real pg_net
// worker has not taken it yet), copies the request pg_net queued.
func invokeCaptured(t *testing.T, conn *pgx.Conn, call string) (int64, queued) {
	t.Helper()
	ctx := context.Background()
	var (
		id int64
		q  queued
	)
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, call).Scan(&id); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `select method, url, headers, body from net.http_request_queue where id = $1`, id).
			Scan(&q.method, &q.url, &q.headers, &q.body)
	})
	if err != nil {
		t.Fatalf("%s: %v", call, err)
	}
	return id, q
}

// countRows runs a count query.
func countRows(t *testing.T, conn *pgx.Conn, sql string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
