package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
)

// A cancel request that reaches the server after its statement has ended by itself must not cancel the next
// statement on the pool: the connection it was sent for is not reused. Before, the next statement (a run's
// final report, another run's batch) failed with SQLSTATE 57014 under a live context, and the run answered
// failed (HTTP 500) for work that was checkpointed.
func TestLateCancelRequestDoesNotReachTheNextStatement(t *testing.T) {
	pc, err := postgres.PoolConfig(postgres.Config{URL: pgtest.ServerURL(t), MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	l := &pgtest.LateCancels{Delay: 700 * time.Millisecond}
	pc.ConnConfig.DialFunc = l.Dialer(pc.ConnConfig.DialFunc)
	ctx := context.Background()
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	defer l.Wait()

	// The first statement's context ends at 50 ms; the statement ends by itself at 250 ms, before its
	// cancel request arrives (at 750 ms). Its own outcome does not matter here.
	cut, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, _ = pool.Exec(cut, `select pg_sleep(0.25)`)
	cancel()
	if l.Sent() == 0 {
		t.Fatal("no cancel request was sent for the cut statement: the test proves nothing")
	}
	// The next statement, on the pool's one connection slot, runs while the late request arrives.
	_, err = pool.Exec(ctx, `select pg_sleep(1)`)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "57014" {
		t.Fatalf("the next statement was cancelled by the cut statement's late cancel request: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}
