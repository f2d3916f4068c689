package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/peermentor/scenario-scheduler/adapters/fcm/fcmtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

// devices adds n inactive mentors, each with one device token tok-<i>.
func (b *pushBundle) devices(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		m := b.inactiveMentor(t, fmt.Sprintf("Mentor %d", i), "nb")
		b.device(t, m, fmt.Sprintf("tok-%02d", i))
	}
}

// observed is an engine delivering through the local FCM server whose log lines the test reads.
func (b *pushBundle) observed(f func(*engine.Options)) (*engine.Engine, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.InfoLevel)
	return b.pusher(func(o *engine.Options) { o.Logger = zap.New(core); f(o) }), logs
}

// TestCredentialErrorsStopThePassAndKeepTokens: with the service account of another Firebase project every
// token answers SENDER_ID_MISMATCH. The pass stops at once, says why in the report and an ERROR line, and
// leaves every token and notification as it was (it used to disable every token of the first pass).
func TestCredentialErrorsStopThePassAndKeepTokens(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	b.devices(t, 30)
	b.fcm.Fallback(fcmtest.SenderIDMismatch)
	e, logs := b.observed(func(*engine.Options) {})

	rep := b.runPush(t, e, engine.Request{})
	d := rep.Delivery
	if d.Status != engine.Failed || d.StoppedBy != engine.StopCredentials || d.ErrorClass != "sender_id_mismatch" ||
		d.Sent != 0 || d.Failed != 0 || d.TokensDisabled != 0 || rep.Status != engine.Failed {
		t.Errorf("delivery %+v (run %s), want failed, stopped by credentials, nothing sent, failed or disabled", d, rep.Status)
	}
	if n := b.count(t, `select count(*) from public.device_tokens where disabled`); n != 0 {
		t.Errorf("%d device tokens disabled", n)
	}
	if n := b.count(t, `select count(*) from public.notifications where status = 'pending' and attempts = 0 and lease_until is null`); n != 30 {
		t.Errorf("%d of 30 notifications pending, unleased and uncharged", n)
	}
	if n := len(b.fcm.Requests()); n > 8 {
		t.Errorf("%d requests after the first refusal; want at most the sends already in flight (8)", n)
	}
	if n := logs.FilterLevelExact(zapcore.ErrorLevel).FilterMessageSnippet("credentials").Len(); n != 1 {
		t.Errorf("%d ERROR lines about the credentials, want 1", n)
	}

	// Fixed configuration: the next call sends every push.
	b.fcm.Fallback(fcmtest.OK)
	if d := b.runPush(t, b.push, engine.Request{DeliverOnly: true}).Delivery; d.Sent != 30 {
		t.Errorf("after the fix: %+v, want 30 sent", d)
	}
}

// TestCircuitBreakerStopsWhenMostSendsFailAlike: every token answering UNREGISTERED at once looks like a
// fault, not like 40 phones uninstalling the app. The breaker stops the pass after BreakerMinSends, the
// failures are released, and no token is disabled for them.
func TestCircuitBreakerStopsWhenMostSendsFailAlike(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	b.devices(t, 40)
	b.fcm.Fallback(fcmtest.Unregistered)
	e, logs := b.observed(func(o *engine.Options) { o.Delivery.Concurrency = 1 })

	d := b.runPush(t, e, engine.Request{}).Delivery
	if d.Status != engine.Failed || d.StoppedBy != engine.StopBreaker || d.ErrorClass != "unregistered" ||
		d.TokensDisabled != 0 || d.Failed != 0 {
		t.Errorf("delivery %+v, want failed by the circuit breaker on unregistered, nothing disabled or failed", d)
	}
	if n := len(b.fcm.Requests()); n != 20 {
		t.Errorf("%d requests, want 20 (BreakerMinSends, one at a time)", n)
	}
	if n := b.count(t, `select count(*) from public.device_tokens where disabled`); n != 0 {
		t.Errorf("%d device tokens disabled", n)
	}
	if n := b.count(t, `select count(*) from public.notifications where status = 'pending'`); n != 40 {
		t.Errorf("%d of 40 notifications pending", n)
	}
	if n := logs.FilterLevelExact(zapcore.ErrorLevel).FilterMessageSnippet("failed alike").Len(); n != 1 {
		t.Errorf("%d ERROR lines about the breaker, want 1", n)
	}
}

// TestQuotaStopsThePassAndBacksOff: a 429 without Retry-After is not retried at once (it used to be, after
// about 250 ms); the pass stops, the refused notifications back off with jitter, the rest are released.
func TestQuotaStopsThePassAndBacksOff(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	b.devices(t, 30)
	b.fcm.Fallback(fcmtest.RateLimited(""))

	d := b.runPush(t, b.push, engine.Request{}).Delivery
	if d.Status != engine.Partial || d.StoppedBy != engine.StopThrottled || d.Sent != 0 || d.Retrying == 0 || d.Retrying > 8 {
		t.Errorf("delivery %+v, want partial, throttled, 1-8 retrying", d)
	}
	if n := len(b.fcm.Requests()); n != d.Retrying {
		t.Errorf("%d requests for %d throttled notifications: retried at once", n, d.Retrying)
	}
	// RetryBackoff is 5 minutes: the first retry comes after 2.5 to 5 minutes, not all at the same moment.
	var lo, hi time.Duration
	var distinct int
	if err := b.pool.QueryRow(context.Background(), `select min(available_at - $1::timestamptz), max(available_at - $1::timestamptz),
		count(distinct available_at) from public.notifications where last_error_class = 'rate_limited'`, b.opts.Now()).Scan(&lo, &hi, &distinct); err != nil {
		t.Fatal(err)
	}
	if lo < 150*time.Second || hi > 5*time.Minute || (d.Retrying > 1 && distinct < 2) {
		t.Errorf("backoff from %v to %v, %d distinct times: want jittered within 2.5-5 minutes", lo, hi, distinct)
	}
	if n := b.count(t, `select count(*) from public.notifications where status = 'pending' and attempts = 0`); n != 30-d.Retrying {
		t.Errorf("%d notifications released uncharged, want %d", n, 30-d.Retrying)
	}
}

// blockingSender stands in for a process that hangs (or was killed) mid-send: Send never returns until
// released, whatever its context says.
type blockingSender struct {
	started chan struct{}
	once    sync.Once
	release chan struct{}
}

func (s *blockingSender) Send(context.Context, engine.Message) (engine.Result, error) {
	s.once.Do(func() { close(s.started) })
	<-s.release
	return engine.Result{}, context.DeadlineExceeded
}

// TestDeadRunsPushesAreTakenOver: a run that died mid-delivery leaves its claimed pushes leased. The next
// call, once the dead run's lease (Options.Lease) is over, sends them; it used to find them leased until the
// dead run's whole budget had passed and answer already_completed with every push unsent.
func TestDeadRunsPushesAreTakenOver(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	b.devices(t, 20)
	b.run(t, engine.Request{}) // evaluated; the outbox is full
	hung := &blockingSender{started: make(chan struct{}), release: make(chan struct{})}
	dead := b.pusher(func(o *engine.Options) { o.Sender, o.Lease = hung, time.Second })
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = dead.Run(context.Background(), engine.Request{DeliverOnly: true})
	}()
	t.Cleanup(func() { close(hung.release); <-done })
	<-hung.started
	if n := b.count(t, `select count(*) from public.notifications where lease_until > clock_timestamp()`); n != 20 {
		t.Fatalf("%d of 20 pushes leased by the hung run", n)
	}

	time.Sleep(1500 * time.Millisecond)
	rep := b.runPush(t, b.push, engine.Request{})
	if rep.Delivery.Sent != 20 || rep.Delivery.PendingWaiting != 0 {
		t.Errorf("next call: %s, delivery %+v; want every push sent", rep.Status, rep.Delivery)
	}
	if n := len(b.fcm.Delivered()); n != 20 {
		t.Errorf("%d devices reached, want 20", n)
	}
}

// TestDailyCapPrefersTheNearestDeadline: between two certification notices of equal priority the cap sends
// the one whose certification expires first, whichever was written first (it used to take the lower row id).
func TestDailyCapPrefersTheNearestDeadline(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	insert := func(mentor, key string, days int) {
		b.exec(t, `insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key, priority, data)
			values ($1, $2, 'certification_expiry', $3::date, $4, 30, jsonb_build_object('certification_name', $4::text,
			'expires_at', $5::date, 'days_left', $6::int, 'rung', $6::int))`, mentor, b.org, day(-1), key, day(days), days)
	}
	first := b.inactiveMentor(t, "Ola Hansen", "nb")
	b.device(t, first, "tok-first")
	insert(first, "Førstehjelp 30", 30) // written first: the lower id
	insert(first, "Førstehjelp 7", 7)
	second := b.inactiveMentor(t, "Kari Olsen", "nb")
	b.device(t, second, "tok-second")
	insert(second, "HLR 7", 7)
	insert(second, "HLR 30", 30)

	b.runPush(t, b.push, engine.Request{DeliverOnly: true})
	for tok, want := range map[string]string{"tok-first": "Førstehjelp 7", "tok-second": "HLR 7"} {
		got := b.fcm.Delivered()[tok]
		if len(got) != 1 || !containsAll(got[0].Title+" "+got[0].Body, want) {
			t.Errorf("%s got %+v, want the push about %q", tok, got, want)
		}
	}
}

// TestPushesLiveUntilTheEndOfTheLocalDay: each push carries a TTL to midnight in the organisation's time
// zone (the clock says 08:00 in Oslo: 16 hours).
func TestPushesLiveUntilTheEndOfTheLocalDay(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	b.devices(t, 1)
	b.runPush(t, b.push, engine.Request{})
	got := b.fcm.Delivered()["tok-00"]
	if len(got) != 1 || got[0].TTL != "57600s" || got[0].APNSExpiration == "" {
		t.Errorf("push %+v, want ttl 57600s and an APNs expiration", got)
	}
}

// TestDeliveryOff: with push delivery switched off (PUSH_SENDER=none) a run sends nothing and its report
// says so, with the notifications left waiting.
func TestDeliveryOff(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	b.devices(t, 3)
	off := b.engineWith(b.store, func(o *engine.Options) { o.Delivery.Off = true })
	b.run(t, engine.Request{})
	rep, err := off.Run(context.Background(), engine.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if d := rep.Delivery; d == nil || d.Status != engine.Off || d.PendingLeft != 3 || d.Message == "" {
		t.Errorf("delivery %+v, want off with 3 pending", d)
	}
	if rep.Status != engine.AlreadyCompleted {
		t.Errorf("run %s: delivery off is no failure", rep.Status)
	}
	if n := len(b.fcm.Requests()); n != 0 {
		t.Errorf("%d pushes sent with delivery off", n)
	}
	if _, err := off.Run(context.Background(), engine.Request{DeliverOnly: true}); engine.ErrorCode(err) != engine.Invalid ||
		!strings.Contains(err.Error(), "off") {
		t.Errorf("deliver_only with delivery off: %v, want an invalid request saying delivery is off", err)
	}
}
