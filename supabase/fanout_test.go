package supabase_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// Sharded fan-out over the cron path: scheduler.invoke(..., shards => 4) queues four signed requests, one per
// shard, that pg_net (or its stand-in, then from four connections at once) sends at the same time to the real
// HTTP adapter. Each answers completed for its shard; together they evaluated every active mentor once per
// scenario and created exactly the notifications of one unsharded run on the same data.
func TestInvokeFansOutShards(t *testing.T) {
	ctx := context.Background()
	db := servedDatabase(t)

	// The unsharded reference: the same seed, one run.
	refURL := pgtest.NewDatabase(t)
	ref := connect(t, refURL)
	if err := postgres.ApplySQL(ctx, ref, supabase.Seed); err != nil {
		t.Fatal(err)
	}
	refStore, err := postgres.Open(ctx, postgres.Config{URL: refURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(refStore.Close)
	if rep, err := engine.New(refStore, engine.Options{}).Run(ctx, engine.Request{}); err != nil || rep.Status != engine.Completed {
		t.Fatalf("unsharded run: %s %v", rep.Status, err)
	}

	dbURL := pgtest.NewDatabase(t)
	conn := connect(t, dbURL)
	if err := postgres.ApplySQL(ctx, conn, supabase.Seed); err != nil {
		t.Fatal(err)
	}
	store, err := postgres.Open(ctx, postgres.Config{URL: loginRole(t, conn, dbURL), MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	secret := randomHex(t, 32)
	srv := httptest.NewServer(httpfn.New(engine.New(store, engine.Options{}), httpfn.Config{Secret: secret, Replay: store}))
	t.Cleanup(srv.Close)
	storeSecrets(t, db.Conn, srv.URL+"/", secret)

	const shards = 4
	var before, first int64
	if err := db.Conn.QueryRow(ctx, `select coalesce(max(id), 0) from scheduler.invocations`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if err := db.Conn.QueryRow(ctx, `select scheduler.invoke(null, 'scenario-scheduler-daily', false, $1)`, shards).Scan(&first); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Conn.Query(ctx, `select request_id, coalesce(shard, '') from scheduler.invocations where id > $1 order by id`, before)
	if err != nil {
		t.Fatal(err)
	}
	type inv struct {
		id    int64
		shard string
	}
	invs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (inv, error) {
		var i inv
		return i, r.Scan(&i.id, &i.shard)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != shards || invs[0].id != first {
		t.Fatalf("invocations %+v; want %d starting with the returned id %d", invs, shards, first)
	}
	if !realExtension(t, db.Conn, "pg_net") {
		// The stand-in worker, from one connection per request, all at once.
		var wg sync.WaitGroup
		errs := make([]error, len(invs))
		for i, v := range invs {
			worker := connect(t, workerURL(t, db.URL))
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = deliver(ctx, worker, v.id) }()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range invs {
		if want := fmt.Sprintf("%d/%d", k+1, shards); v.shard != want {
			t.Errorf("invocation %d names shard %q, want %q", k, v.shard, want)
		}
		resp := waitAnswer(t, db.Conn, v.id)
		var rep engine.Report
		if err := json.Unmarshal([]byte(resp.Content), &rep); err != nil || resp.Status != http.StatusOK {
			t.Fatalf("shard %s: %d %s", v.shard, resp.Status, resp.Content)
		}
		if rep.Status != engine.Completed || rep.Shard != v.shard || rep.Trigger != "cron:scenario-scheduler-daily" {
			t.Errorf("shard %s: report status %s, shard %q, trigger %q; want completed for its shard from the daily job",
				v.shard, rep.Status, rep.Shard, rep.Trigger)
		}
	}

	// Every active mentor once per scenario, and the unsharded run's notifications.
	var active int
	if err := conn.QueryRow(ctx, `select count(*) from public.peer_mentors where status = 'active'`).Scan(&active); err != nil {
		t.Fatal(err)
	}
	for _, sc := range engine.Scenarios {
		var n, evaluated, done int
		if err := conn.QueryRow(ctx, `select count(*), coalesce(sum(evaluated), 0), count(*) filter (where done)
			from scheduler.checkpoints where scenario = $1 and shards = $2`, sc, shards).Scan(&n, &evaluated, &done); err != nil {
			t.Fatal(err)
		}
		if n != shards || done != shards || evaluated != active {
			t.Errorf("%s: %d checkpoints, %d done, %d evaluated; want %d done shards evaluating the %d active mentors once",
				sc, n, done, evaluated, shards, active)
		}
	}
	const list = `select string_agg(idempotency_key || ' ' || data::text, E'\n' order by idempotency_key) from public.notifications`
	var want, got string
	if err := ref.QueryRow(ctx, list).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, list).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want || want == "" {
		t.Errorf("notifications of the 4 shards differ from one unsharded run's:\nsharded\n%s\nunsharded\n%s", got, want)
	}
}

// waitAnswer polls net._http_response for request id (sent by pg_net's worker or by deliver).
func waitAnswer(t *testing.T, conn *pgx.Conn, id int64) response {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var r response
		err := conn.QueryRow(context.Background(), `select coalesce(status_code, 0), coalesce(content, error_msg, '')
			from net._http_response where id = $1`, id).Scan(&r.Status, &r.Content)
		if err == nil {
			return r
		}
		if !errors.Is(err, pgx.ErrNoRows) || time.Now().After(deadline) {
			t.Fatalf("waiting for pg_net's answer to request %d: %v", id, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scheduler.invoke() refuses a shard count outside 1 to 64 before anything is queued or recorded, and with
// shards 1 sends exactly the request it sent before shards existed (no shard field).
func TestInvokeShardCount(t *testing.T) {
	ctx := context.Background()
	db := servedDatabase(t)
	fn := newFakeFunction(t)
	storeSecrets(t, db.Conn, fn.srv.URL, randomHex(t, 32))
	count := `select (select count(*) from net.http_request_queue) + (select count(*) from net._http_response)
	              + (select count(*) from scheduler.invocations)`
	before := countRows(t, db.Conn, count)
	for _, n := range []string{"0", "65", "-1", "null"} {
		_, err := db.Conn.Exec(ctx, `select scheduler.invoke(null, 'scenario-scheduler-daily', false, `+n+`)`)
		if sqlState(err) != "22023" {
			t.Errorf("shards %s: %v, want SQLSTATE 22023", n, err)
		}
	}
	if after := countRows(t, db.Conn, count); after != before {
		t.Errorf("refused calls queued or recorded %d rows", after-before)
	}
	// Read in the calling transaction, before a real pg_net worker takes it; then rolled back.
	var body map[string]any
	rolledBack := errors.New("rolled back")
	err := pgx.BeginFunc(ctx, db.Conn, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `select scheduler.invoke(null, 'scenario-scheduler-daily', false, 1)`).Scan(&id); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `select convert_from(body, 'UTF8')::jsonb from net.http_request_queue where id = $1`, id).
			Scan(&body); err != nil {
			return err
		}
		return rolledBack
	})
	if !errors.Is(err, rolledBack) {
		t.Fatal(err)
	}
	if _, ok := body["shard"]; ok || body["job"] != "scenario-scheduler-daily" {
		t.Errorf("shards 1 queued body %v; want the daily job's body without a shard", body)
	}
}
