package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

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
