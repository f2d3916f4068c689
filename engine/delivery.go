package engine

import (
	"context"
	"strconv"
	"sync"
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
	// Message explains a partial or failed status.
	Message string `json:"message,omitempty"`
}

// deliver drains the outbox within what is left of the run's budget.
func (e *Engine) deliver(r *run, log *zap.Logger) *DeliveryReport {
	o := e.opt.Delivery
	d := &DeliveryReport{Suppressed: map[string]int{}}
	started := time.Now()
	log = log.With(zap.String("step", "delivery"))
	defer func() {
		d.DurationMS = time.Since(started).Milliseconds()
		log.Info("delivery finished", zap.String("status", string(d.Status)), zap.Int("sent", d.Sent),
			zap.Int("failed", d.Failed), zap.Int("retrying", d.Retrying), zap.Int("held", d.Held),
			zap.Any("suppressed", d.Suppressed), zap.Int("tokens_disabled", d.TokensDisabled),
			zap.Int64("pending_left", d.PendingLeft))
	}()
	final := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(r.ctx), finalWriteTimeout)
	}

	ds, ok := e.store.(DeliveryStore)
	if !ok {
		d.Status, d.Message = Failed, "push delivery is configured but the store has no outbox"
		log.Error(d.Message)
		return d
	}
	if r.ctx.Err() != nil {
		d.Status, d.Message = Partial, "budget spent before delivery; pending notifications are sent by the next call"
		return d
	}
	tpl, err := e.templates(r.ctx)
	switch {
	case err != nil && r.ctx.Err() != nil:
		d.Status, d.Message = Partial, "budget spent before delivery; pending notifications are sent by the next call"
	case err != nil:
		d.Status, d.Message = Failed, "push delivery is not possible: "+ErrorMessage(err)
		log.Error("loading push templates failed", zap.Error(err))
	}

	sendDeadline := r.deadline.Add(-e.opt.Margin)
	sendCtx, cancel := context.WithDeadline(r.ctx, sendDeadline)
	defer cancel()
	for d.Status == "" {
		if time.Until(sendDeadline) < o.MinSendTime {
			d.Status, d.Message = Partial, "budget spent; pending notifications are sent by the next call"
			break
		}
		now := e.opt.Now()
		y, m, dd := now.In(e.opt.Location).Date()
		today := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
		rows, err := ds.ClaimDeliveries(r.ctx, DeliveryClaim{RunID: r.id, Now: now, Today: today, Limit: o.BatchSize,
			Lease: time.Until(r.deadline) + finalWriteTimeout, MaxAttempts: o.MaxAttempts})
		switch {
		case err != nil && r.ctx.Err() != nil:
			d.Status, d.Message = Partial, "budget ran out while claiming; pending notifications are sent by the next call"
			continue
		case err != nil:
			d.Status, d.Message = Failed, "claiming the outbox failed; pending notifications are sent by the next call"
			log.Error("claiming the outbox failed", zap.Error(err))
			continue
		case len(rows) == 0:
			d.Status = Completed
			continue
		}
		d.Batches++
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
		outcomes, dead := e.sendBatch(sendCtx, send, tpl, now, log)
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
		d.TokensDisabled += len(dead)
		ctx, cancel := final()
		recorded, err := ds.RecordDeliveries(ctx, r.id, outcomes, dead)
		cancel()
		switch {
		case err != nil:
			d.Status, d.Message = Failed, "recording push results failed; the rows are retried when their lease expires"
			log.Error("recording push results failed", zap.Error(err), zap.Int("results", len(outcomes)))
		case recorded != len(outcomes):
			log.Warn("some push results were not recorded: another run took those rows over",
				zap.Int("results", len(outcomes)), zap.Int("recorded", recorded))
		}
		if d.Status == "" && sendCtx.Err() != nil {
			d.Status, d.Message = Partial, "budget spent; pending notifications are sent by the next call"
		}
	}

	ctx, cancel2 := final()
	defer cancel2()
	if left, waiting, err := ds.DeliveryBacklog(ctx, e.opt.Now()); err == nil {
		d.PendingLeft, d.PendingWaiting = left, waiting
	} else {
		log.Warn("counting the outbox failed", zap.Error(err))
	}
	return d
}

// deliveryOff is the delivery report of a run with push delivery switched off: nothing sent, and how many
// notifications wait in the outbox.
func (e *Engine) deliveryOff(log *zap.Logger) *DeliveryReport {
	d := &DeliveryReport{Status: Off, Suppressed: map[string]int{},
		Message: "push delivery is off (PUSH_SENDER=none): notifications stay pending in the outbox, in-app only"}
	ds, ok := e.store.(DeliveryStore)
	if !ok {
		return d
	}
	ctx, cancel := context.WithTimeout(context.Background(), finalWriteTimeout)
	defer cancel()
	if left, waiting, err := ds.DeliveryBacklog(ctx, e.opt.Now()); err == nil {
		d.PendingLeft, d.PendingWaiting = left, waiting
	} else {
		log.Warn("counting the outbox failed", zap.Error(err))
	}
	log.Info("push delivery is off: nothing sent", zap.Int64("pending_left", d.PendingLeft))
	return d
}

// job is one push of one notification to one device.
type job struct {
	row, k int // rows[row].Tokens[k]
	msg    Message
}

// tokenResult is what one job came to.
type tokenResult struct {
	sent, attempted bool
	err             *SendError
}

// sendBatch renders and sends the claimed rows, at most Concurrency at a time, and folds each row's
// per-device results into its outcome. It returns the outcomes and the tokens to disable.
func (e *Engine) sendBatch(ctx context.Context, rows []Delivery, tpl *Templates, now time.Time, log *zap.Logger) ([]DeliveryOutcome, []string) {
	o := e.opt.Delivery
	outcomes := make([]DeliveryOutcome, len(rows))
	results := make([][]tokenResult, len(rows))
	var jobs []job
	for i, row := range rows {
		outcomes[i].NotificationID = row.NotificationID
		title, body, err := tpl.Render(row)
		if err != nil {
			outcomes[i].Outcome, outcomes[i].ErrorClass = OutcomeFailed, "template"
			log.Error("rendering a push failed", zap.Int64("notification_id", row.NotificationID), zap.Error(err))
			continue
		}
		if len(row.Tokens) == 0 {
			outcomes[i].Outcome, outcomes[i].ErrorClass = OutcomeFailed, ReasonNoDevice
			continue
		}
		results[i] = make([]tokenResult, len(row.Tokens))
		id := strconv.FormatInt(row.NotificationID, 10)
		for k, tok := range row.Tokens {
			jobs = append(jobs, job{row: i, k: k, msg: Message{NotificationID: row.NotificationID,
				Scenario: row.Scenario, Token: tok, Title: title, Body: body, CollapseKey: "notification-" + id,
				Data: map[string]string{"notification_id": id, "scenario": row.Scenario}}})
		}
	}

	next := make(chan int)
	var wg sync.WaitGroup
	for range min(o.Concurrency, len(jobs)) {
		wg.Go(func() {
			for j := range next {
				var tr tokenResult
				if ctx.Err() == nil {
					res, err := e.opt.Sender.Send(ctx, jobs[j].msg)
					if err == nil {
						tr.sent, tr.attempted = true, true
					} else {
						tr.err, tr.attempted = classifySend(res, err)
					}
				}
				results[jobs[j].row][jobs[j].k] = tr // each job owns its slot
			}
		})
	}
	for j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()

	var dead []string
	for i, row := range rows {
		if outcomes[i].Outcome != "" {
			continue
		}
		outcomes[i] = fold(row, results[i], o, now)
		for k, tr := range results[i] {
			if tr.err != nil && tr.err.TokenInvalid {
				dead = append(dead, row.Tokens[k])
				log.Info("device token disabled", zap.Int64("notification_id", row.NotificationID),
					zap.String("class", tr.err.Class))
			}
		}
		if outcomes[i].Outcome != OutcomeSent && outcomes[i].Outcome != OutcomeRelease {
			log.Warn("push not delivered", zap.Int64("notification_id", row.NotificationID),
				zap.String("outcome", outcomes[i].Outcome), zap.String("class", outcomes[i].ErrorClass))
		}
	}
	return outcomes, dead
}

// fold decides one notification's outcome from its devices' results: sent when any device got it; released
// when none was tried; retried after a temporary error while attempts remain; failed otherwise.
func fold(row Delivery, rs []tokenResult, o DeliveryOptions, now time.Time) DeliveryOutcome {
	oc := DeliveryOutcome{NotificationID: row.NotificationID}
	attempted, untried := false, false
	var temp, perm *SendError
	for _, tr := range rs {
		switch {
		case tr.sent:
			oc.Outcome = OutcomeSent
			return oc
		case !tr.attempted:
			untried = true
		case tr.err.Temporary && !tr.err.TokenInvalid:
			attempted = true
			if temp == nil {
				temp = tr.err
			}
		default:
			attempted = true
			if perm == nil || (perm.TokenInvalid && !tr.err.TokenInvalid) {
				perm = tr.err
			}
		}
	}
	if temp == nil && untried {
		temp = &SendError{Class: "timeout", Temporary: true}
	}
	switch {
	case !attempted:
		oc.Outcome = OutcomeRelease
	case temp != nil && row.Attempts < o.MaxAttempts:
		oc.Outcome, oc.ErrorClass = OutcomeRetry, temp.Class
		backoff := min(o.RetryBackoff<<min(max(row.Attempts-1, 0), 10), time.Hour)
		oc.RetryAt = now.Add(backoff)
	case temp != nil:
		oc.Outcome, oc.ErrorClass = OutcomeFailed, temp.Class
	default:
		oc.Outcome, oc.ErrorClass = OutcomeFailed, perm.Class
	}
	return oc
}

// validateDelivery checks a delivery-only request.
func (e *Engine) validateDelivery(req Request) error {
	if !req.DeliverOnly {
		return nil
	}
	switch {
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
	rank := map[Status]int{AlreadyCompleted: 0, Completed: 1, Busy: 2, Partial: 3, Failed: 4}
	if (d.Status == Partial || d.Status == Failed) && rank[d.Status] > rank[s] {
		return d.Status
	}
	return s
}
