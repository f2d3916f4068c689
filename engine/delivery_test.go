package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/peermentor/scenario-scheduler/adapters/fcm"
	"github.com/peermentor/scenario-scheduler/adapters/fcm/fcmtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

// pushBundle is a testBundle with a local FCM server and an engine that delivers through it.
type pushBundle struct {
	*testBundle
	fcm    *fcmtest.Server
	sender *fcm.Sender
	push   *engine.Engine
}

func setupPush(t *testing.T, opts ...func(*engine.Options)) *pushBundle {
	t.Helper()
	b := &pushBundle{testBundle: setup(t, opts...), fcm: fcmtest.New(t)}
	var err error
	b.sender, err = fcm.New(context.Background(), fcm.Config{CredentialsJSON: b.fcm.CredentialsJSON(),
		Endpoint: b.fcm.URL, Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b.push = b.pusher(func(*engine.Options) {})
	return b
}

// pusher is an engine on the bundle's clock and store that delivers through the local FCM server.
func (b *pushBundle) pusher(f func(*engine.Options)) *engine.Engine {
	return b.engineWith(b.store, func(o *engine.Options) {
		o.Sender = b.sender
		f(o)
	})
}

// runPush runs the delivering engine and fails the test on an error.
func (b *pushBundle) runPush(t *testing.T, e *engine.Engine, req engine.Request) engine.Report {
	t.Helper()
	rep, err := e.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("Run(%v): %v", req, err)
	}
	if rep.Delivery == nil {
		t.Fatalf("Run(%v): the report has no delivery", req)
	}
	return rep
}

// device gives a mentor a device token.
func (b *pushBundle) device(t *testing.T, mentor, token string) {
	t.Helper()
	b.exec(t, `insert into public.device_tokens (user_id, token, platform) values ($1, $2, 'android')`, mentor, token)
}

// inactiveMentor adds a mentor who never registered an activity and joined 20 days ago: an inactivity
// notification, nothing else.
func (b *pushBundle) inactiveMentor(t *testing.T, name, locale string) string {
	t.Helper()
	return b.queryString(t, `insert into public.peer_mentors (organisation_id, full_name, locale, joined_on)
		values ($1, $2, $3, $4::date) returning id::text`, b.org, name, locale, day(-20))
}

// statuses lists notification status, suppressed reason and error class per idempotency key's scenario.
func (b *pushBundle) statuses(t *testing.T, mentor string) map[string]string {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `select scenario, status || coalesce(':' || suppressed_reason, '')
		|| coalesce(':' || last_error_class, '') from public.notifications where user_id = $1`, mentor)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var s, st string
		if err := rows.Scan(&s, &st); err != nil {
			t.Fatal(err)
		}
		m[s] = st
	}
	return m
}

func TestDailyCapHighestPriorityWins(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	busy := b.mentor(t, "active", -400)
	offsets := make([]int, 27)
	for i := range offsets {
		offsets[i] = -20 - i
	}
	b.activities(t, busy, offsets...)          // milestone 25, and 20 days inactive
	b.certification(t, busy, "Førstehjelp", 7) // and a certification expiring in a week
	b.device(t, busy, "tok-busy")
	quiet := b.inactiveMentor(t, "Ola Nordmann", "nb") // no device: in-app only

	rep := b.runPush(t, b.push, engine.Request{})
	want := engine.DeliveryReport{Status: engine.Completed, Sent: 1, Batches: 1,
		Suppressed: map[string]int{engine.ReasonDailyCap: 2, engine.ReasonNoDevice: 1}}
	if diff := cmp.Diff(want, *rep.Delivery, ignoreDeliveryTiming); diff != "" {
		t.Errorf("delivery (-want +got):\n%s", diff)
	}
	wantStatus := map[string]string{engine.CertificationExpiry: "sent", engine.Milestone: "suppressed:daily_cap",
		engine.Inactivity: "suppressed:daily_cap"}
	if diff := cmp.Diff(wantStatus, b.statuses(t, busy)); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{engine.Inactivity: "suppressed:no_device"}, b.statuses(t, quiet)); diff != "" {
		t.Errorf("mentor without a device (-want +got):\n%s", diff)
	}
	got := b.fcm.Delivered()["tok-busy"]
	if len(got) != 1 || got[0].Title != "Førstehjelp utløper snart" {
		t.Errorf("pushes to the busy mentor: %+v, want one about the certification", got)
	}

	// Later the same day a new notification for the mentor is in-app only; with a cap of 2 it is pushed.
	b.exec(t, `insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key, priority)
		values ($1, $2, 'milestone', $3::date, 'extra-1', 20), ($1, $2, 'milestone', $3::date, 'extra-2', 20)`, busy, b.org, day(0))
	again := b.runPush(t, b.push, engine.Request{DeliverOnly: true})
	if again.Delivery.Sent != 0 || again.Delivery.Suppressed[engine.ReasonDailyCap] != 2 {
		t.Errorf("second pass the same day: %+v, want both capped", again.Delivery)
	}
	b.exec(t, `insert into scheduler.delivery_config (organisation_id, daily_cap) values ($1, 2)`, b.org)
	b.exec(t, `insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key, priority)
		values ($1, $2, 'milestone', $3::date, 'extra-3', 20), ($1, $2, 'milestone', $3::date, 'extra-4', 20)`, busy, b.org, day(0))
	third := b.runPush(t, b.push, engine.Request{DeliverOnly: true})
	if third.Delivery.Sent != 1 || third.Delivery.Suppressed[engine.ReasonDailyCap] != 1 {
		t.Errorf("with a daily cap of 2: %+v, want one more sent and one capped", third.Delivery)
	}
}

// ignoreDeliveryTiming leaves out what differs between identical runs.
var ignoreDeliveryTiming = cmp.FilterPath(func(p cmp.Path) bool {
	f := p.Last().String()
	return f == ".DurationMS" || f == ".Message"
}, cmp.Ignore())

func TestTemplatesInBothLanguages(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	nb := b.mentor(t, "active", -400)
	b.activities(t, nb, -1)
	b.certification(t, nb, "Førstehjelp", 7)
	b.device(t, nb, "tok-nb")
	en := b.inactiveMentor(t, "Emma Smith", "en")
	b.device(t, en, "tok-en")
	nn := b.inactiveMentor(t, "Kari Nordmann", "nn")
	b.device(t, nn, "tok-nn")
	b.exec(t, `update public.peer_mentors set full_name = 'Ingrid Hansen' where id = $1`, nb)

	b.runPush(t, b.push, engine.Request{})
	got := map[string][2]string{}
	for tok, rs := range b.fcm.Delivered() {
		got[tok] = [2]string{rs[0].Title, rs[0].Body}
	}
	want := map[string][2]string{
		"tok-nb": {"Førstehjelp utløper snart", "Sertifiseringen din «Førstehjelp» utløper 09.03.2026 (om 7 dager). Husk å fornye den."},
		"tok-en": {"We miss you!", "Hi Emma! It has been 20 days since you last registered an activity. Had a conversation lately? Register it in the app."},
		"tok-nn": {"Vi savner deg!", "Hei Kari! Det er 20 dager siden du sist registrerte en aktivitet. Har du hatt en samtale nylig? Registrer den i appen."},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pushes (-want +got):\n%s", diff)
	}
}

func TestTemplateOverrides(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	m := b.inactiveMentor(t, "Emma Smith", "en")
	b.device(t, m, "tok-en")

	// The database refuses a template without a body, or in an unknown language.
	for _, params := range []string{`{"templates": {"en": {"title": "Hi"}}}`, `{"templates": {"de": {"title": "Hallo", "body": "x"}}}`} {
		if _, err := b.pool.Exec(context.Background(), `insert into scheduler.scenario_config (scenario, organisation_id, params)
			values ('inactivity', $1, $2)`, b.org, params); err == nil {
			t.Errorf("scenario_config accepted %s", params)
		}
	}

	// A template naming an unknown fact is a configuration error at start, and nothing is sent.
	b.exec(t, `insert into scheduler.scenario_config (scenario, organisation_id, params) values ('inactivity', $1,
		'{"templates": {"en": {"title": "Hi {{.Nickname}}", "body": "Come back"}}}')`, b.org)
	err := b.push.CheckDelivery(context.Background())
	if err == nil || !containsAll(err.Error(), "inactivity", "locale en", b.org, "Nickname") {
		t.Errorf("CheckDelivery = %v, want an error naming the scenario, locale, organisation and field", err)
	}
	rep := b.runPush(t, b.push, engine.Request{})
	if rep.Delivery.Status != engine.Failed || rep.Status != engine.Failed || len(b.fcm.Requests()) != 0 {
		t.Errorf("with a broken template: delivery %s, run %s, %d requests; want failed, failed, none",
			rep.Delivery.Status, rep.Status, len(b.fcm.Requests()))
	}

	b.exec(t, `update scheduler.scenario_config set params = '{"templates": {"en": {"title": "Hi {{.FirstName}}",
		"body": "{{.DaysInactive}} days without an activity."}}}' where organisation_id = $1`, b.org)
	if err := b.push.CheckDelivery(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.runPush(t, b.push, engine.Request{DeliverOnly: true})
	rs := b.fcm.Delivered()["tok-en"]
	if len(rs) != 1 || rs[0].Title != "Hi Emma" || rs[0].Body != "20 days without an activity." {
		t.Errorf("pushes: %+v, want the organisation's template", rs)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func TestDeadTokensAreDisabled(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	two := b.inactiveMentor(t, "Ola Hansen", "nb")
	b.device(t, two, "tok-gone")
	b.device(t, two, "tok-live")
	one := b.inactiveMentor(t, "Kari Olsen", "nb")
	b.device(t, one, "tok-bad")
	b.fcm.Script("tok-gone", fcmtest.Unregistered)
	b.fcm.Script("tok-bad", fcmtest.InvalidToken)

	rep := b.runPush(t, b.push, engine.Request{})
	if d := rep.Delivery; d.Sent != 1 || d.Failed != 1 || d.TokensDisabled != 2 {
		t.Errorf("delivery %+v, want 1 sent, 1 failed, 2 tokens disabled", d)
	}
	if diff := cmp.Diff(map[string]string{engine.Inactivity: "sent"}, b.statuses(t, two)); diff != "" {
		t.Errorf("mentor with a live device (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{engine.Inactivity: "failed:invalid_token"}, b.statuses(t, one)); diff != "" {
		t.Errorf("mentor with a dead device (-want +got):\n%s", diff)
	}
	disabled := b.queryString(t, `select string_agg(token, ',' order by token) from public.device_tokens where disabled`)
	if disabled != "tok-bad,tok-gone" {
		t.Errorf("disabled tokens %q, want tok-bad,tok-gone", disabled)
	}
	perToken := map[string]int{}
	for _, r := range b.fcm.Requests() {
		perToken[r.Token]++
	}
	if diff := cmp.Diff(map[string]int{"tok-gone": 1, "tok-live": 1, "tok-bad": 1}, perToken); diff != "" {
		t.Errorf("requests per token (-want +got):\n%s", diff)
	}
}

func TestRetriesStopAtTheDeadlineLeavingRowsPending(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	for i := range 20 {
		m := b.inactiveMentor(t, fmt.Sprintf("Mentor %d", i), "nb")
		b.device(t, m, fmt.Sprintf("tok-%02d", i))
	}
	b.fcm.Fallback(fcmtest.Answer{ErrorCode: "UNAVAILABLE", Delay: 50 * time.Millisecond})
	patient, err := fcm.New(context.Background(), fcm.Config{CredentialsJSON: b.fcm.CredentialsJSON(),
		Endpoint: b.fcm.URL, Backoff: 20 * time.Millisecond, MaxAttempts: 1000})
	if err != nil {
		t.Fatal(err)
	}
	tight := b.pusher(func(o *engine.Options) {
		o.Sender = patient
		o.Budget, o.Margin = 1500*time.Millisecond, 200*time.Millisecond
		o.Delivery.Concurrency = 4
	})
	rep := b.runPush(t, tight, engine.Request{})
	d := rep.Delivery
	if d.Status != engine.Partial || d.Sent != 0 || d.Retrying+int(d.PendingLeft) != 20 || d.Retrying == 0 {
		t.Errorf("delivery %+v, want partial, nothing sent, every row retrying or left", d)
	}
	if rep.DurationMS > rep.BudgetMS+200 {
		t.Errorf("run took %d ms with a %d ms budget", rep.DurationMS, rep.BudgetMS)
	}
	if n := b.count(t, `select count(*) from public.notifications where status = 'pending' and lease_until is null`); n != 20 {
		t.Errorf("%d of 20 notifications pending and unleased after the deadline", n)
	}
	if n := b.count(t, `select count(*) from public.notifications where last_error_class is not null and attempts = 1`); n != d.Retrying {
		t.Errorf("%d rows record a failed attempt, the report says %d retrying", n, d.Retrying)
	}
	if n := b.count(t, `select count(*) from public.notifications where last_error_class = 'unavailable'`); n == 0 {
		t.Error("no row records the 503 answers as unavailable")
	}

	// FCM is back; after the retry backoff, a delivery-only call sends each exactly once.
	b.fcm.Fallback(fcmtest.OK)
	b.setToday(1)
	next := b.runPush(t, b.push, engine.Request{DeliverOnly: true})
	if next.Delivery.Sent != 20 || next.Delivery.PendingLeft != 0 || next.Delivery.PendingWaiting != 0 {
		t.Errorf("next call: %+v, want all 20 sent, nothing pending", next.Delivery)
	}
	for tok, rs := range b.fcm.Delivered() {
		if len(rs) != 1 {
			t.Errorf("%s delivered %d times", tok, len(rs))
		}
	}
}

func TestQuietHoursHoldThenRelease(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	clock := time.Date(2026, 3, 2, 22, 30, 0, 0, oslo) // Monday 22:30 in Norway: quiet hours
	b := setupPush(t, func(o *engine.Options) {
		o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	})
	set := func(t time.Time) { mu.Lock(); clock = t; mu.Unlock() }
	m := b.inactiveMentor(t, "Kari Nordmann", "nb")
	b.device(t, m, "tok-kari")

	rep := b.runPush(t, b.push, engine.Request{})
	if d := rep.Delivery; d.Held != 1 || d.Sent != 0 || d.PendingWaiting != 1 {
		t.Errorf("at 22:30: %+v, want the push held", d)
	}
	until := b.queryString(t, `select to_char(available_at at time zone 'Europe/Oslo', 'YYYY-MM-DD HH24:MI') from public.notifications`)
	if until != "2026-03-03 07:00" {
		t.Errorf("held until %s, want 2026-03-03 07:00 (Oslo)", until)
	}

	set(time.Date(2026, 3, 3, 6, 59, 0, 0, oslo))
	if d := b.runPush(t, b.push, engine.Request{DeliverOnly: true}).Delivery; d.Sent != 0 || d.PendingWaiting != 1 {
		t.Errorf("at 06:59: %+v, want still held", d)
	}
	set(time.Date(2026, 3, 3, 7, 0, 0, 0, oslo))
	if d := b.runPush(t, b.push, engine.Request{DeliverOnly: true}).Delivery; d.Sent != 1 || d.PendingWaiting != 0 {
		t.Errorf("at 07:00: %+v, want the push sent", d)
	}
	if n := len(b.fcm.Delivered()["tok-kari"]); n != 1 {
		t.Errorf("delivered %d times, want once", n)
	}
}

func TestConcurrentInvocationsSendEachOnce(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	const mentors = 300
	b.exec(t, `insert into public.peer_mentors (id, organisation_id, full_name, joined_on)
		select md5('p' || i)::uuid, $1, 'Mentor ' || i, $2::date from generate_series(1, $3::int) i`, b.org, day(-20), mentors)
	b.exec(t, `insert into public.device_tokens (user_id, token, platform)
		select md5('p' || i)::uuid, 'tok-' || i, 'ios' from generate_series(1, $1::int) i`, mentors)
	b.fcm.Fallback(fcmtest.Slow(2 * time.Millisecond))
	small := b.pusher(func(o *engine.Options) { o.Delivery.BatchSize = 10 })
	b.run(t, engine.Request{}) // evaluate: 300 inactivity notifications, one per mentor

	// The daily run and a catch-up call overlapping: both find evaluation done and deliver.

	reports := make([]engine.Report, 2)
	var wg sync.WaitGroup
	for i := range reports {
		wg.Go(func() {
			rep, err := small.Run(context.Background(), engine.Request{})
			if err != nil {
				t.Errorf("invocation %d: %v", i, err)
			}
			reports[i] = rep
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("sent by the two invocations: %d and %d", reports[0].Delivery.Sent, reports[1].Delivery.Sent)
	// Whatever the first two left (there should be nothing), a third call finishes.
	last := b.runPush(t, small, engine.Request{DeliverOnly: true})
	sent := last.Delivery.Sent
	for _, rep := range reports {
		sent += rep.Delivery.Sent
	}
	delivered := b.fcm.Delivered()
	if len(delivered) != mentors || sent != mentors {
		t.Errorf("%d devices got a push, the reports count %d sent; want %d", len(delivered), sent, mentors)
	}
	for tok, rs := range delivered {
		if len(rs) != 1 {
			t.Errorf("%s got %d pushes, want exactly one", tok, len(rs))
		}
	}
	if n := b.count(t, `select count(*) from public.notifications where status = 'sent'`); n != mentors {
		t.Errorf("%d notifications sent, want %d", n, mentors)
	}
}

func TestAbandonedClaimsAreBounded(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	resent := b.inactiveMentor(t, "Ola Hansen", "nb")
	b.device(t, resent, "tok-resent")
	b.run(t, engine.Request{}) // evaluate only
	// A pass that claimed the row and died before recording: its lease ran out.
	claim := engine.DeliveryClaim{RunID: "00000000-0000-4000-8000-000000000001", Now: b.opts.Now(), Today: day0,
		Limit: 10, MaxAttempts: 5}
	if _, err := b.store.ClaimDeliveries(context.Background(), claim); err != nil {
		t.Fatal(err)
	}
	if d := b.runPush(t, b.push, engine.Request{DeliverOnly: true}).Delivery; d.Sent != 1 {
		t.Errorf("after an expired claim: %+v, want the row sent again (at least once)", d)
	}

	gone := b.inactiveMentor(t, "Kari Olsen", "nb")
	b.device(t, gone, "tok-gone")
	b.setToday(1)
	b.run(t, engine.Request{})
	claim.Now, claim.Today = b.opts.Now(), day0.AddDate(0, 0, 1)
	for range 3 {
		if _, err := b.store.ClaimDeliveries(context.Background(), claim); err != nil {
			t.Fatal(err)
		}
	}
	e := b.pusher(func(o *engine.Options) { o.Delivery.MaxAttempts = 3 })
	if d := b.runPush(t, e, engine.Request{DeliverOnly: true}).Delivery; d.Failed != 1 || d.Sent != 0 {
		t.Errorf("after three expired claims: %+v, want the row failed as abandoned", d)
	}
	if diff := cmp.Diff(map[string]string{engine.Inactivity: "failed:abandoned"}, b.statuses(t, gone)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := len(b.fcm.Delivered()["tok-gone"]); n != 0 {
		t.Errorf("abandoned row pushed %d times", n)
	}
}

func TestSplitSchedulesWaitForTheDaysEvaluation(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	m := b.mentor(t, "active", -400)
	b.activities(t, m, -20)                 // 20 days inactive
	b.certification(t, m, "Førstehjelp", 7) // and a certification expiring in a week
	b.device(t, m, "tok-m")

	// Per-scenario jobs, the least important first: nothing is pushed until the day is fully evaluated.
	for _, s := range []string{engine.Inactivity, engine.Milestone} {
		if d := b.runPush(t, b.push, engine.Request{Scenarios: []string{s}}).Delivery; d.Sent != 0 || d.Batches != 0 {
			t.Errorf("after %s only: %+v, want nothing claimed before the day is evaluated", s, d)
		}
	}
	d := b.runPush(t, b.push, engine.Request{Scenarios: []string{engine.CertificationExpiry}}).Delivery
	if d.Sent != 1 || d.Suppressed[engine.ReasonDailyCap] != 1 {
		t.Errorf("after the last scenario: %+v, want one sent and one capped", d)
	}
	want := map[string]string{engine.CertificationExpiry: "sent", engine.Inactivity: "suppressed:daily_cap"}
	if diff := cmp.Diff(want, b.statuses(t, m)); diff != "" {
		t.Errorf("the most important notification must win the day (-want +got):\n%s", diff)
	}

	// A date before today is deliverable whatever its evaluation's state.
	b.exec(t, `insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key, priority)
		values ($1, $2, 'inactivity', $3::date, 'old-1', 10)`, m, b.org, day(0))
	b.setToday(1)
	if d := b.runPush(t, b.push, engine.Request{DeliverOnly: true}).Delivery; d.Sent != 1 {
		t.Errorf("yesterday's notification the next morning: %+v, want it sent", d)
	}
}

func TestDeliveryNeedsAnOutbox(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	b.mentor(t, "active", 0) // a source with an active mentor (the run checks it first)
	e := b.engineWith(slowStore{Store: b.store}, func(o *engine.Options) { o.Sender = b.sender })
	rep := b.runPush(t, e, engine.Request{})
	if rep.Delivery.Status != engine.Failed || rep.Status != engine.Failed {
		t.Errorf("a store without DeliveryStore: delivery %s, run %s; want failed, failed", rep.Delivery.Status, rep.Status)
	}
	if _, err := b.push.Run(context.Background(), engine.Request{DeliverOnly: true, DryRun: true}); engine.ErrorCode(err) != engine.Invalid {
		t.Errorf("deliver_only with dry_run: %v, want invalid", err)
	}
	if _, err := b.engine.Run(context.Background(), engine.Request{DeliverOnly: true}); engine.ErrorCode(err) != engine.Invalid {
		t.Errorf("deliver_only without a sender: %v, want invalid", err)
	}
}
