package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

// TestOutboxStatementAfterCutRunsOnFreshConnection: when the database ends every backend of the pool (a
// restart, an administrator, a pooler), the outbox statement that meets a dead connection fails as
// Unavailable, and the next one runs on a fresh connection instead of another idle one that died too: the
// engine's one retry of a batch's results is enough.
func TestOutboxStatementAfterCutRunsOnFreshConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	store, err := postgres.Open(ctx, postgres.Config{URL: url, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	admin, err := pgx.Connect(ctx, pgtest.AdminURL(t, url))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)

	// Four idle connections in the pool, each used once.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := store.Pool().Exec(ctx, `select pg_sleep(0.05)`); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var ended int
	if err := admin.QueryRow(ctx, `select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity
		where datname = current_database() and pid <> pg_backend_pid()`).Scan(&ended); err != nil {
		t.Fatal(err)
	}
	if ended < 4 {
		t.Fatalf("%d backends ended, want the pool's 4", ended)
	}

	results := []engine.DeliveryOutcome{{NotificationID: 1, Outcome: engine.OutcomeSent}}
	_, err = store.RecordDeliveries(ctx, "00000000-0000-0000-0000-000000000001", results, nil)
	if engine.ErrorCode(err) != engine.Unavailable {
		t.Fatalf("recording on a dead connection: %v, want an Unavailable error", err)
	}
	if _, err := store.RecordDeliveries(ctx, "00000000-0000-0000-0000-000000000001", results, nil); err != nil {
		t.Fatalf("recording again after the cut: %v, want it to run on a fresh connection", err)
	}
	now := time.Now()
	if _, err := store.ClaimDeliveries(ctx, engine.DeliveryClaim{RunID: "00000000-0000-0000-0000-000000000001",
		Now: now, Today: now, Limit: 10, Lease: 10 * time.Second, MaxAttempts: 5}); err != nil {
		t.Fatalf("claiming after the cut: %v", err)
	}
}
