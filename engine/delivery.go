package engine

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// DeliveryOptions tune the delivery step. Zero values take the defaults noted.
type DeliveryOptions struct {
	// BatchSize is the number of mentors claimed at a time (default 100): results are recorded per batch,
	// so a crash repeats at most one batch's pushes.
	BatchSize int
	// Concurrency bounds the sends in flight (default 8).
	Concurrency int
	// MaxAttempts: a notification that failed temporarily this often is failed for good (default 5).
	MaxAttempts int
	// RetryBackoff is the wait before a temporarily failed notification is tried again, doubled per
	// attempt up to an hour (default 5 minutes).
	RetryBackoff time.Duration
	// MinSendTime is the least time left (after the margin) worth claiming a batch for (default 500 ms).
	MinSendTime time.Duration
	// Off says push delivery is switched off on purpose (no Sender): a run sends nothing, and its report
	// says so and counts the notifications waiting in the outbox.
	Off bool
	// BreakerMinSends and BreakerRatio are the circuit breaker (defaults 20 and 0.5): once a pass has
	// attempted BreakerMinSends device sends, it stops when more than BreakerRatio of them failed with one
	// and the same error class. What failed alike is released, not failed, and no token is disabled for it.
	BreakerMinSends int
	BreakerRatio    float64
}

func (o DeliveryOptions) withDefaults() DeliveryOptions {
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 5 * time.Minute
	}
	if o.MinSendTime <= 0 {
		o.MinSendTime = 500 * time.Millisecond
	}
	if o.BreakerMinSends <= 0 {
		o.BreakerMinSends = 20
	}
	if o.BreakerRatio <= 0 || o.BreakerRatio >= 1 {
		o.BreakerRatio = 0.5
	}
	return o
}

// DeliveryReport is what the delivery step of a run did. Counts are this run's own, except the backlog.
type DeliveryReport struct {
	// Status is completed (the outbox was drained), partial (the budget ran out first) or failed.
	Status Status `json:"status"`
	// Sent notifications (delivered to at least one of the mentor's devices).
	Sent int `json:"sent"`
	// Failed for good: dead tokens only, a permanent error, out of attempts, or abandoned.
	Failed int `json:"failed"`
	// Retrying: a temporary error (or the deadline during retries); pending again after a backoff.
	Retrying int `json:"retrying"`
	// Held for quiet hours: pending until the organisation's window opens.
	Held int `json:"held"`
	// Suppressed by reason (daily_cap, no_device, expired): in-app only.
	Suppressed map[string]int `json:"suppressed"`
	// TokensDisabled: device tokens the push service declared dead.
	TokensDisabled int `json:"tokens_disabled"`
	// PendingLeft: pending notifications deliverable now that this run did not reach.
	PendingLeft int64 `json:"pending_left"`
	// PendingWaiting: pending notifications held for quiet hours, backing off, or in flight elsewhere.
	PendingWaiting int64 `json:"pending_waiting"`
	Batches        int   `json:"batches"`
	DurationMS     int64 `json:"duration_ms"`
	// StoppedBy says why the pass stopped before the outbox was drained: credentials (the push service
	// refused the sender), circuit_breaker (most sends failed alike) or throttled (quota exhausted).
	StoppedBy StopReason `json:"stopped_by,omitempty"`
	// ErrorClass is the error class that stopped the pass.
	ErrorClass string `json:"error_class,omitempty"`
	// Message explains a partial, failed or off status.
	Message string `json:"message,omitempty"`
}

// deliver drains the outbox within what is left of the run's budget, one claimed batch after another,
// until the outbox is empty, the budget is spent, or the pass is stopped (see guard).
func (e *Engine) deliver(r *run, log *zap.Logger) *DeliveryReport {
	d := &DeliveryReport{Suppressed: map[string]int{}}
	started := time.Now()
	log = log.With(zap.String("step", "delivery"))
	defer func() {
		d.DurationMS = time.Since(started).Milliseconds()
		log.Info("delivery finished", zap.String("status", string(d.Status)), zap.Int("sent", d.Sent),
			zap.Int("failed", d.Failed), zap.Int("retrying", d.Retrying), zap.Int("held", d.Held),
			zap.Any("suppressed", d.Suppressed), zap.Int("tokens_disabled", d.TokensDisabled),
			zap.Int64("pending_left", d.PendingLeft), zap.String("stopped_by", string(d.StoppedBy)))
	}()

	ds, tpl := e.prepareDelivery(r, d, log)
	if ds == nil {
		return d
	}
	g := newGuard(e.opt.Delivery)
	sendDeadline := r.deadline.Add(-e.opt.Margin)
	for d.Status == "" {
		e.deliverBatch(r, ds, tpl, g, sendDeadline, d, log)
	}
	e.countBacklog(r, ds, d, log)
	return d
}

// prepareDelivery finds the outbox and the templates; with either missing (or no budget left) it sets the
// report's status and returns a nil store.
func (e *Engine) prepareDelivery(r *run, d *DeliveryReport, log *zap.Logger) (DeliveryStore, *Templates) {
	ds, ok := e.store.(DeliveryStore)
	if !ok {
		d.Status, d.Message = Failed, "push delivery is configured but the store has no outbox"
		log.Error(d.Message)
		return nil, nil
	}
	if r.ctx.Err() != nil {
		d.Status, d.Message = Partial, "budget spent before delivery; pending notifications are sent by the next call"
		return nil, nil
	}
	var tpl *Templates
	_, err := retryUnavailable(r.ctx, func(ctx context.Context) (err error) {
		tpl, err = e.templates(ctx)
		return err
	})
	switch {
	case err != nil && r.ctx.Err() != nil:
		d.Status, d.Message = Partial, "budget spent before delivery; pending notifications are sent by the next call"
	case err != nil && ErrorCode(err) == Unavailable:
		d.Status, d.Message = Failed, "the database could not be reached for delivery; pending notifications are sent by the next call"
		log.Error("loading push templates failed", zap.Error(err))
		r.setErr(err)
	case err != nil:
		d.Status, d.Message = Failed, "push delivery is not possible: "+ErrorMessage(err)
		log.Error("loading push templates failed", zap.Error(err))
	default:
		return ds, tpl
	}
	e.countBacklog(r, ds, d, log)
	return nil, nil
}

// deliverBatch claims one batch, sends it and records the results; it sets d.Status when the pass ends.
//
// The batch's rows are leased for at most Options.Lease, like a scenario's checkpoint, and its sends end a
// safety margin before the lease does: rows left leased by a run that died are claimable again by the next
// call within Options.Lease, and a live run never sends a row whose lease another run may have taken.
func (e *Engine) deliverBatch(r *run, ds DeliveryStore, tpl *Templates, g *guard, sendDeadline time.Time, d *DeliveryReport, log *zap.Logger) {
	o := e.opt.Delivery
	if time.Until(sendDeadline) < o.MinSendTime {
		d.Status, d.Message = Partial, "budget spent; pending notifications are sent by the next call"
		return
	}
	now := e.opt.Now()
	y, m, dd := now.In(e.opt.Location).Date()
	lease := min(time.Until(r.deadline)+FinalWindow, e.opt.Lease)
	claim := DeliveryClaim{RunID: r.id, Now: now, Today: time.Date(y, m, dd, 0, 0, 0, 0, time.UTC),
		Limit: o.BatchSize, Lease: lease, MaxAttempts: o.MaxAttempts}
	claimed := time.Now()
	var rows []Delivery
	// A claim cut by the database is tried again: one whose commit was lost leased rows that nobody
	// sends, and they are claimable again once the lease ends, like those of a run that died.
	tries, err := retryUnavailable(r.ctx, func(ctx context.Context) (err error) {
		claimed = time.Now()
		rows, err = ds.ClaimDeliveries(ctx, claim)
		return err
	})
	switch {
	case err != nil && r.ctx.Err() != nil:
		d.Status, d.Message = Partial, "budget ran out while claiming; pending notifications are sent by the next call"
		return
	case err != nil:
		d.Status, d.Message = Failed, "claiming the outbox failed; pending notifications are sent by the next call"
		log.Error("claiming the outbox failed", zap.Error(err), zap.Int("tries", tries))
		if ErrorCode(err) == Unavailable {
			r.setErr(err) // the caller retries (503 with Retry-After)
		}
		return
	case tries > 1:
		log.Warn("claiming the outbox succeeded on a fresh connection", zap.Int("tries", tries))
	}
	if len(rows) == 0 {
		d.Status = Completed
		return
	}
	d.Batches++
	send := tallyClaim(rows, d, log)

	sendBy := claimed.Add(lease - min(FinalWindow, lease/3))
	if sendDeadline.Before(sendBy) {
		sendBy = sendDeadline
	}
	sendCtx, cancel := context.WithDeadline(r.ctx, sendBy)
	outcomes, dead := e.sendBatch(sendCtx, send, tpl, g, now, log)
	cancel()
	tallyOutcomes(outcomes, d)
	d.TokensDisabled += len(dead)

	recorded, tries, err := e.record(r, ds, outcomes, dead)
	switch {
	case err != nil:
		sent := 0
		for _, oc := range outcomes {
			if oc.Outcome == OutcomeSent {
				sent++
			}
		}
		d.Status = Failed
		d.Message = "recording push results failed: " + strconv.Itoa(sent) +
			" pushes sent but not recorded are sent again when their lease ends; the other rows are retried then"
		log.Error("recording push results failed", zap.Error(err), zap.Int("results", len(outcomes)),
			zap.Int("sent_unrecorded", sent), zap.Int("tries", tries))
		r.setErr(recordFailed(err))
		return
	case recorded != len(outcomes):
		// A retry after a commit whose answer was lost finds its rows recorded already.
		log.Warn("some push results were not recorded: recorded already by an earlier try, or another run took those rows over",
			zap.Int("results", len(outcomes)), zap.Int("recorded", recorded), zap.Int("tries", tries))
	case tries > 1:
		log.Warn("push results recorded on a fresh connection", zap.Int("results", len(outcomes)), zap.Int("tries", tries))
	}
	switch {
	case g.stoppedBy() != "":
		g.report(d, log)
	case r.ctx.Err() != nil || time.Until(sendDeadline) <= 0:
		d.Status, d.Message = Partial, "budget spent; pending notifications are sent by the next call"
	}
}

// record stores a batch's results. The pushes are out: whatever the run's budget says, the results are
// written under the run's values without its cancellation (a cancelled context would kill the connection),
// bounded by FinalWindow, and a write cut by the database is tried again on a fresh connection, so
// that a push known to be sent is not sent again when its lease ends.
func (e *Engine) record(r *run, ds DeliveryStore, outcomes []DeliveryOutcome, dead []string) (recorded, tries int, err error) {
	ctx, cancel := r.final()
	defer cancel()
	tries, err = retryUnavailable(ctx, func(ctx context.Context) (err error) {
		recorded, err = ds.RecordDeliveries(ctx, r.id, outcomes, dead)
		return err
	})
	return recorded, tries, err
}

// recordFailed is the run's error when a batch's results could not be recorded at all. A database that
// could not be reached, or did not answer in time, is Unavailable: the caller is told to retry (503 with
// Retry-After) rather than given a report.
func recordFailed(err error) error {
	if ErrorCode(err) == Unavailable || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: Unavailable, Message: "push results could not be recorded", Err: err}
	}
	return err
}

// The outbox's statements are tried again when the database cut them (a terminated backend, a restarted
// server, a pooler that dropped the connection): the store starts afresh after a broken connection, so the
// next try runs on a new one.
const (
	// storeTries bounds the tries of one outbox statement.
	storeTries = 4
	// storeRetryWait is the wait after the first failed try, doubled after each (100, 200, 400 ms).
	storeRetryWait = 100 * time.Millisecond
)

// retryUnavailable calls f until it succeeds, fails with an error that is not Unavailable, has been tried
// storeTries times, or ctx ends; it returns the number of tries and the last error.
func retryUnavailable(ctx context.Context, f func(context.Context) error) (tries int, err error) {
	wait := storeRetryWait
	for tries = 1; ; tries++ {
		err = f(ctx)
		if err == nil || ErrorCode(err) != Unavailable || tries == storeTries || ctx.Err() != nil {
			return tries, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return tries, err
		case <-t.C:
		}
		wait *= 2
	}
}

// tallyClaim counts the claimed rows that are not to be sent and returns those that are.
func tallyClaim(rows []Delivery, d *DeliveryReport, log *zap.Logger) []Delivery {
	var send []Delivery
	for _, row := range rows {
		switch row.Disposition {
		case DispositionSend:
			send = append(send, row)
		case DispositionHeld:
			d.Held++
		case DispositionSuppressed:
			d.Suppressed[row.Reason]++
		case DispositionFailed:
			d.Failed++
			log.Warn("notification abandoned: claimed too often without a recorded outcome",
				zap.Int64("notification_id", row.NotificationID), zap.Int("attempts", row.Attempts))
		}
	}
	return send
}

// tallyOutcomes counts a batch's outcomes.
func tallyOutcomes(outcomes []DeliveryOutcome, d *DeliveryReport) {
	for _, oc := range outcomes {
		switch oc.Outcome {
		case OutcomeSent:
			d.Sent++
		case OutcomeFailed:
			d.Failed++
		case OutcomeRetry:
			d.Retrying++
		}
	}
}

// countBacklog fills in what the outbox still holds.
func (e *Engine) countBacklog(r *run, ds DeliveryStore, d *DeliveryReport, log *zap.Logger) {
	ctx, cancel := r.final()
	defer cancel()
	if left, waiting, err := ds.DeliveryBacklog(ctx, e.opt.Now()); err == nil {
		d.PendingLeft, d.PendingWaiting = left, waiting
	} else {
		log.Warn("counting the outbox failed", zap.Error(err))
	}
}

// deliveryOff is the delivery report of a run with push delivery switched off: nothing sent, and how many
// notifications wait in the outbox.
func (e *Engine) deliveryOff(r *run, log *zap.Logger) *DeliveryReport {
	d := &DeliveryReport{Status: Off, Suppressed: map[string]int{},
		Message: "push delivery is off (PUSH_SENDER=none): notifications stay pending in the outbox, in-app only"}
	ds, ok := e.store.(DeliveryStore)
	if !ok {
		return d
	}
	ctx, cancel := r.final()
	defer cancel()
	if left, waiting, err := ds.DeliveryBacklog(ctx, e.opt.Now()); err == nil {
		d.PendingLeft, d.PendingWaiting = left, waiting
	} else {
		log.Warn("counting the outbox failed", zap.Error(err))
	}
	log.Info("push delivery is off: nothing sent", zap.Int64("pending_left", d.PendingLeft))
	return d
}

// validateDelivery checks a delivery-only request.
func (e *Engine) validateDelivery(req Request) error {
	if !req.DeliverOnly {
		return nil
	}
	switch {
	case e.opt.Sender == nil && e.opt.Delivery.Off:
		return Errorf(Invalid, "deliver_only: push delivery is off (PUSH_SENDER=none)")
	case e.opt.Sender == nil:
		return Errorf(Invalid, "deliver_only: push delivery is not configured")
	case req.DryRun:
		return Errorf(Invalid, "deliver_only and dry_run cannot be combined")
	case len(req.Scenarios) > 0:
		return Errorf(Invalid, "deliver_only evaluates no scenarios; leave scenarios out")
	}
	return nil
}

// withDelivery folds the delivery step's status into the run's: a partial or failed delivery makes the
// run partial or failed; otherwise the evaluation's status stands.
func withDelivery(s Status, d *DeliveryReport) Status {
	if d.Status == Partial || d.Status == Failed {
		return worst(s, d.Status)
	}
	return s
}
