package supabase_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// The cron path end to end: scheduler.invoke() reads Vault, pg_net (or its stand-in) sends the signed
// request to the real HTTP adapter, the engine runs as the function role, and net._http_response holds the
// report, which names the cron job as its trigger. invoke() runs in the database pg_net's worker serves;
// the function runs against a fresh seeded database, so that runs other tests made in the shared database
// (today's run already completed) do not change what this one finds.
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
	srv := httptest.NewServer(httpfn.New(engine.New(store, engine.Options{}), httpfn.Config{Secret: secret}))
	t.Cleanup(srv.Close)
	storeSecrets(t, db.Conn, srv.URL+"/", secret)

	id, _, _ := invokeQueued(t, db.Conn, `select scheduler.invoke()`)
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
}
