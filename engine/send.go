package engine

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
)

// StopReason says why a delivery pass stopped before the outbox was drained.
type StopReason string

// Reasons a delivery pass stops.
const (
	// StopCredentials: the push service refused the sender (SendError.Credentials). No push can succeed
	// until the configuration is fixed, so the pass stops at the first such answer.
	StopCredentials StopReason = "credentials"
	// StopBreaker: the circuit breaker tripped (DeliveryOptions.BreakerMinSends, BreakerRatio).
	StopBreaker StopReason = "circuit_breaker"
	// StopThrottled: the push service's quota is exhausted (SendError.Throttled).
	StopThrottled StopReason = "throttled"
)

// guard watches a pass's sends, across its batches, and decides when the pass must stop: at the first
// credential error, at the first quota error, or when most sends fail alike. Workers ask it before each
// send, so a stop also spares the rest of the batch. It is safe for concurrent use.
type guard struct {
	minSends int
	ratio    float64

	mu        sync.Mutex
	attempted int
	failures  map[string]int
	reason    StopReason
	class     string
	failedAs  int // sends that failed with class, when the pass stopped
}

func newGuard(o DeliveryOptions) *guard {
	return &guard{minSends: o.BreakerMinSends, ratio: o.BreakerRatio, failures: map[string]int{}}
}

// stoppedBy is the reason the pass stopped ("" while it goes on).
func (g *guard) stoppedBy() StopReason {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reason
}

// observe counts one device send's result and stops the pass when it must.
func (g *guard) observe(tr tokenResult) {
	if !tr.attempted {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.attempted++
	if tr.err == nil || g.reason != "" {
		return
	}
	g.failures[tr.err.Class]++
	n := g.failures[tr.err.Class]
	switch {
	case tr.err.Credentials:
		g.reason, g.class = StopCredentials, tr.err.Class
	case tr.err.Throttled:
		g.reason, g.class = StopThrottled, tr.err.Class
	case g.attempted >= g.minSends && float64(n) > g.ratio*float64(g.attempted):
		g.reason, g.class = StopBreaker, tr.err.Class
	default:
		return
	}
	g.failedAs = n
}

// excused says whether a failed send is excused by the stop: its failure is the configuration's or the
// pattern's, not the notification's or the device's, so the row is released and its token left alone.
// Throttled sends are not excused: they back off.
func (g *guard) excused(err *SendError) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.reason {
	case StopCredentials:
		return err.Credentials
	case StopBreaker:
		return err.Class == g.class
	}
	return false
}

// report sets the delivery report of a stopped pass and logs it: at ERROR (which the cloud alarms watch)
// for credentials and the circuit breaker, at WARN for a quota.
func (g *guard) report(d *DeliveryReport, log *zap.Logger) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d.StoppedBy, d.ErrorClass = g.reason, g.class
	fields := []zap.Field{zap.String("stopped_by", string(g.reason)), zap.String("class", g.class),
		zap.Int("attempted", g.attempted), zap.Int("failed_alike", g.failedAs)}
	switch g.reason {
	case StopCredentials:
		d.Status = Failed
		d.Message = "push delivery stopped: the push service refused the sender's credentials or project (" + g.class +
			"); no device token was touched and the notifications stay pending; check FCM_PROJECT_ID and the service account"
		log.Error("push delivery stopped: credentials refused", fields...)
	case StopBreaker:
		d.Status = Failed
		d.Message = "push delivery stopped by the circuit breaker: " + strconv.Itoa(g.failedAs) + " of " +
			strconv.Itoa(g.attempted) + " sends failed with " + g.class + "; those notifications stay pending and no token was disabled for them"
		log.Error("push delivery stopped: most sends failed alike", fields...)
	case StopThrottled:
		d.Status = Partial
		d.Message = "push delivery paused: the push service's quota is exhausted; the notifications back off and are sent by a later call"
		log.Warn("push delivery paused: quota exhausted", fields...)
	}
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
func (e *Engine) sendBatch(ctx context.Context, rows []Delivery, tpl *Templates, g *guard, now time.Time, log *zap.Logger) ([]DeliveryOutcome, []string) {
	outcomes := make([]DeliveryOutcome, len(rows))
	results := make([][]tokenResult, len(rows))
	jobs := renderJobs(rows, tpl, now, outcomes, results, log)
	e.runJobs(ctx, jobs, results, g)

	var dead []string
	for i, row := range rows {
		if outcomes[i].Outcome != "" {
			continue
		}
		for k, tr := range results[i] {
			switch {
			case tr.err == nil:
			case g.excused(tr.err):
				results[i][k] = tokenResult{} // not the row's fault: as if never tried
			case tr.err.TokenInvalid:
				dead = append(dead, row.Tokens[k])
				log.Info("device token disabled", zap.Int64("notification_id", row.NotificationID),
					zap.String("class", tr.err.Class))
			}
		}
		outcomes[i] = fold(row, results[i], e.opt.Delivery, now)
		if outcomes[i].Outcome != OutcomeSent && outcomes[i].Outcome != OutcomeRelease {
			log.Warn("push not delivered", zap.Int64("notification_id", row.NotificationID),
				zap.String("outcome", string(outcomes[i].Outcome)), zap.String("class", outcomes[i].ErrorClass))
		}
	}
	return outcomes, dead
}

// renderJobs renders each row's push, one job per device; a row that cannot be sent gets its outcome now.
func renderJobs(rows []Delivery, tpl *Templates, now time.Time, outcomes []DeliveryOutcome, results [][]tokenResult, log *zap.Logger) []job {
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
		var ttl time.Duration
		if !row.PushUntil.IsZero() {
			ttl = max(row.PushUntil.Sub(now), time.Second)
		}
		for k, tok := range row.Tokens {
			jobs = append(jobs, job{row: i, k: k, msg: Message{NotificationID: row.NotificationID,
				Scenario: row.Scenario, Token: tok, Title: title, Body: body, CollapseKey: "notification-" + id,
				TTL: ttl, Data: map[string]string{"notification_id": id, "scenario": row.Scenario}}})
		}
	}
	return jobs
}

// runJobs sends the jobs, at most Concurrency at a time; once the guard stops the pass, the jobs not yet
// started are left untried.
func (e *Engine) runJobs(ctx context.Context, jobs []job, results [][]tokenResult, g *guard) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(e.opt.Delivery.Concurrency, len(jobs)) {
		wg.Go(func() {
			for j := range next {
				var tr tokenResult
				if ctx.Err() == nil && g.stoppedBy() == "" {
					res, err := e.opt.Sender.Send(ctx, jobs[j].msg)
					if err == nil {
						tr.sent, tr.attempted = true, true
					} else {
						tr.err, tr.attempted = classifySend(res, err)
					}
					g.observe(tr)
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
		oc.RetryAt = now.Add(retryBackoff(o.RetryBackoff, row.Attempts))
	case temp != nil:
		oc.Outcome, oc.ErrorClass = OutcomeFailed, temp.Class
	default:
		oc.Outcome, oc.ErrorClass = OutcomeFailed, perm.Class
	}
	return oc
}

// retryBackoff is the wait before a notification's next try after attempts tries: base doubled per attempt,
// at most an hour, with jitter in its upper half, so notifications that failed together (a quota, an
// outage) do not come back together.
func retryBackoff(base time.Duration, attempts int) time.Duration {
	d := min(base<<min(max(attempts-1, 0), 10), time.Hour)
	return d/2 + rand.N(d/2+1)
}
