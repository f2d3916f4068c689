package engine_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/engine"
)

// cutStore is the Postgres store whose RecordDeliveries fails as on a cut connection, fails times (every
// time when fails is negative).
type cutStore struct {
	*postgres.Store
	fails, tries atomic.Int32
}

func (s *cutStore) RecordDeliveries(ctx context.Context, runID string, outcomes []engine.DeliveryOutcome, disable []string) (int, error) {
	s.tries.Add(1)
	if s.fails.Load() != 0 {
		s.fails.Add(-1)
		return 0, &engine.Error{Code: engine.Unavailable, Message: "database unavailable", Err: io.ErrUnexpectedEOF}
	}
	return s.Store.RecordDeliveries(ctx, runID, outcomes, disable)
}

// TestResultsRecordedOnRetryAfterCut: a batch's results that meet a cut connection are written again, and
// the run answers as if nothing happened; nothing FCM accepted is left pending to be sent again.
func TestResultsRecordedOnRetryAfterCut(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	b.devices(t, 10)
	cut := &cutStore{Store: b.store}
	cut.fails.Store(2)
	e := b.engineWith(cut, func(o *engine.Options) { o.Sender = b.sender })

	rep, err := e.Run(context.Background(), engine.Request{})
	if err != nil {
		t.Fatalf("Run: %v, want the results recorded on a retry", err)
	}
	if d := rep.Delivery; d.Status != engine.Completed || d.Sent != 10 {
		t.Errorf("delivery %+v, want completed with 10 sent", d)
	}
	if n := cut.tries.Load(); n != 3 {
		t.Errorf("%d tries to record the batch, want 3 (two cut, one recorded)", n)
	}
	if n := b.count(t, `select count(*) from public.notifications where status = 'sent' and lease_until is null`); n != 10 {
		t.Errorf("%d of 10 notifications recorded as sent", n)
	}
	if n := len(b.fcm.Requests()); n != 10 {
		t.Errorf("%d pushes, want 10", n)
	}
}

// TestResultsNotRecordedAnswerUnavailable: results that cannot be recorded at all make the run's error
// Unavailable (503 with Retry-After), not a 200 report; the tries are bounded.
func TestResultsNotRecordedAnswerUnavailable(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	b.devices(t, 10)
	cut := &cutStore{Store: b.store}
	cut.fails.Store(-1)
	e := b.engineWith(cut, func(o *engine.Options) { o.Sender = b.sender })

	rep, err := e.Run(context.Background(), engine.Request{})
	if engine.ErrorCode(err) != engine.Unavailable {
		t.Fatalf("Run: %v, want an Unavailable error", err)
	}
	if d := rep.Delivery; d == nil || d.Status != engine.Failed || d.Sent != 10 {
		t.Errorf("delivery %+v, want failed with 10 sent", d)
	}
	if n := cut.tries.Load(); n != 4 {
		t.Errorf("%d tries to record the batch, want 4", n)
	}
	if n := b.count(t, `select count(*) from public.notifications where status = 'pending' and lease_until is not null`); n != 10 {
		t.Errorf("%d of 10 notifications still leased (unrecorded)", n)
	}
}
