package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

// slowCheckpoints makes every batch that advances a checkpoint take at least 300 ms on the server (a
// trigger sleeps in the batch's own statement), so that a context that ends during a batch cancels it on
// the server: the batch answers SQLSTATE 57014 and rolls back with its checkpoint.
func (b *testBundle) slowCheckpoints(t *testing.T, on bool) {
	t.Helper()
	if !on {
		b.exec(t, `drop trigger slow_batch on scheduler.checkpoints`)
		return
	}
	b.exec(t, `create function public.slow_batch() returns trigger language plpgsql as
		$$ begin perform pg_sleep(0.3); return new; end $$`)
	b.exec(t, `create trigger slow_batch before update on scheduler.checkpoints for each row
		when (new.cursor is distinct from old.cursor) execute function public.slow_batch()`)
}

// A run whose batch is cancelled on the server, by its caller's context or by its own deadline, answers
// partial without an error (never failed, never an HTTP 500): the batch rolled back with its checkpoint,
// and the next calls resume and finish the date with every active mentor evaluated once.
func TestCancelledRunAnswersPartial(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *engine.Options) { o.MinBatch, o.MaxBatch = 10, 40 })
	b.population(t, 300)
	b.slowCheckpoints(t, true)
	tiny := b.engineWith(b.store, func(o *engine.Options) { o.Budget, o.Margin = 200*time.Millisecond, time.Millisecond })
	req := engine.Request{Scenarios: []string{engine.Inactivity}}

	cases := map[string]func() (engine.Report, error){
		"the caller's context": func() (engine.Report, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			return b.engine.Run(ctx, req)
		},
		"the run's deadline": func() (engine.Report, error) { return tiny.Run(context.Background(), req) },
	}
	for name, call := range cases {
		cutMidBatch := false
		// A loaded machine may spend the whole budget before the first batch (also partial); a few calls
		// make sure one is cut during a batch.
		for i := 0; i < 10 && !cutMidBatch; i++ {
			rep, err := call()
			if err != nil || rep.Status != engine.Partial {
				t.Fatalf("cancelled by %s: %s, %v; want partial and no error", name, rep.Status, err)
			}
			s := scenario(t, rep, engine.Inactivity)
			cutMidBatch = strings.Contains(s.Message, "during a batch")
		}
		if !cutMidBatch {
			t.Errorf("cancelled by %s: no call was cut during a batch: the test proves nothing", name)
		}
	}
	// The cut batches left nothing behind: the next calls resume and evaluate everyone once.
	b.slowCheckpoints(t, false)
	s := scenario(t, b.run(t, req), engine.Inactivity)
	active := b.count(t, `select count(*) from public.peer_mentors where status = 'active'`)
	if s.Status != engine.Completed || s.TotalEvaluated != active {
		t.Errorf("after the cut calls: %s, %d evaluated in all; want completed, the %d active mentors once", s.Status, s.TotalEvaluated, active)
	}
}

// lateCancelStore is a store on the bundle's database, configured as postgres.Open configures one but
// with one connection, whose cancel requests arrive late (see pgtest.LateCancels).
func (b *testBundle) lateCancelStore(t *testing.T, l *pgtest.LateCancels) *postgres.Store {
	t.Helper()
	pc, err := postgres.PoolConfig(postgres.Config{URL: b.pool.Config().ConnString(), MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	pc.ConnConfig.DialFunc = l.Dialer(pc.ConnConfig.DialFunc)
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close(); l.Wait() })
	return postgres.NewFromPool(pool)
}

// A run whose deadline passes during a batch that then ends by itself sends a cancel request that reaches
// the server late, as on a loaded machine: the run must still answer partial without an error. Before the
// store closed connections it had sent a cancel request for, the late request interrupted the run's own
// report (SQLSTATE 57014 under a live context) and the run returned an error: the failed shards of
// TestShardsDieAndResume under load, and an HTTP 500.
func TestLateCancelDoesNotFailTheRun(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *engine.Options) { o.MinBatch, o.MaxBatch = 10, 40 })
	b.population(t, 300)
	b.slowCheckpoints(t, true) // a batch takes 300 ms: the deadline (200 ms) passes during the first one
	// The report takes a second, so that the late cancel request (700 ms) arrives while it is written.
	b.exec(t, `create function public.slow_report() returns trigger language plpgsql as
		$$ begin perform pg_sleep(1); return new; end $$`)
	b.exec(t, `create trigger slow_report before update on scheduler.runs for each row
		when (new.report is not null) execute function public.slow_report()`)
	l := &pgtest.LateCancels{Delay: 700 * time.Millisecond}
	e := b.engineWith(b.lateCancelStore(t, l), func(o *engine.Options) { o.Budget, o.Margin = 200*time.Millisecond, time.Millisecond })

	rep, err := e.Run(context.Background(), engine.Request{Scenarios: []string{engine.Inactivity}})
	if l.Sent() == 0 {
		t.Fatal("no cancel request was sent: the deadline did not pass during a statement, the test proves nothing")
	}
	if err != nil || rep.Status != engine.Partial {
		t.Fatalf("a run cut by its deadline: %s, %v; want partial and no error", rep.Status, err)
	}
	if got := b.count(t, `select count(*) from scheduler.runs where id = $1 and status = 'partial'`, rep.RunID); got != 1 {
		t.Errorf("the run's report was not stored as partial")
	}
}
