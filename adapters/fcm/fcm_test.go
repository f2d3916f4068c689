package fcm_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/peermentor/scenario-scheduler/adapters/fcm"
	"github.com/peermentor/scenario-scheduler/adapters/fcm/fcmtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

func newSender(t *testing.T, srv *fcmtest.Server, f func(*fcm.Config)) *fcm.Sender {
	t.Helper()
	cfg := fcm.Config{CredentialsJSON: srv.CredentialsJSON(), Endpoint: srv.URL,
		Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	if f != nil {
		f(&cfg)
	}
	s, err := fcm.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func msg(token string) engine.Message {
	return engine.Message{NotificationID: 7, Scenario: engine.Milestone, Token: token, Title: "Gratulerer!",
		Body: "25 aktiviteter", CollapseKey: "notification-7", Data: map[string]string{"notification_id": "7"}}
}

func withDeadline(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// sendError returns err's SendError, failing the test when there is none.
func sendError(t *testing.T, err error) *engine.SendError {
	t.Helper()
	var se *engine.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a SendError", err)
	}
	return se
}

func TestSendSuccess(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	s := newSender(t, srv, nil)
	if s.ProjectID() != fcmtest.ProjectID {
		t.Errorf("project %q, want the service account's %q", s.ProjectID(), fcmtest.ProjectID)
	}
	for range 3 {
		res, err := s.Send(withDeadline(t, 5*time.Second), msg("tok-a"))
		if err != nil || res.Attempts != 1 || res.ID == "" {
			t.Fatalf("Send = %+v, %v; want one attempt with a message name", res, err)
		}
	}
	want := fcmtest.Request{Token: "tok-a", Title: "Gratulerer!", Body: "25 aktiviteter", CollapseKey: "notification-7",
		Data: map[string]string{"notification_id": "7"}, Status: 200, Delivered: true}
	if diff := cmp.Diff([]fcmtest.Request{want, want, want}, srv.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if n := srv.TokenRequests(); n != 1 {
		t.Errorf("%d access tokens fetched for three sends, want 1 (reused)", n)
	}
}

func TestRetriesTemporaryAnswers(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	s := newSender(t, srv, func(c *fcm.Config) { c.RequestTimeout = 200 * time.Millisecond })
	srv.Script("tok-429", fcmtest.RateLimited("0"), fcmtest.OK)
	srv.Script("tok-503", fcmtest.Unavailable, fcmtest.Unavailable, fcmtest.OK)
	srv.Script("tok-drop", fcmtest.Drop, fcmtest.OK)
	srv.Script("tok-slow", fcmtest.Slow(5*time.Second), fcmtest.OK)
	for token, attempts := range map[string]int{"tok-429": 2, "tok-503": 3, "tok-drop": 2, "tok-slow": 2} {
		res, err := s.Send(withDeadline(t, 5*time.Second), msg(token))
		if err != nil || res.Attempts != attempts {
			t.Errorf("%s: Send = %+v, %v; want success after %d attempts", token, res, err, attempts)
		}
		if got := len(srv.Delivered()[token]); got != 1 {
			t.Errorf("%s: delivered %d times, want once", token, got)
		}
	}
}

func TestDeadTokensAreNotRetried(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	s := newSender(t, srv, nil)
	srv.Script("tok-gone", fcmtest.Unregistered)
	srv.Script("tok-bad", fcmtest.InvalidToken)
	srv.Script("tok-payload", fcmtest.Answer{ErrorCode: "INVALID_ARGUMENT"})
	srv.Script("tok-other", fcmtest.SenderIDMismatch)
	srv.Script("tok-quota", fcmtest.RateLimited(""))
	for token, want := range map[string]engine.SendError{
		"tok-gone":    {Class: "unregistered", TokenInvalid: true, Attempts: 1},
		"tok-bad":     {Class: "invalid_token", TokenInvalid: true, Attempts: 1},
		"tok-payload": {Class: "invalid_argument", Attempts: 1},
		// The sender's project is wrong, not the token: a credential error, the token left alone.
		"tok-other": {Class: "sender_id_mismatch", Temporary: true, Credentials: true, Attempts: 1},
		// A quota error without Retry-After is not retried at once: the engine backs off.
		"tok-quota": {Class: "rate_limited", Temporary: true, Throttled: true, Attempts: 1},
	} {
		_, err := s.Send(withDeadline(t, 5*time.Second), msg(token))
		se := sendError(t, err)
		got := engine.SendError{Class: se.Class, TokenInvalid: se.TokenInvalid, Temporary: se.Temporary,
			Credentials: se.Credentials, Throttled: se.Throttled, Attempts: se.Attempts}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", token, diff)
		}
	}
	if n := len(srv.Requests()); n != 5 {
		t.Errorf("%d requests for five tokens, want 5 (no retries)", n)
	}
}

func TestRetriesStopAtTheDeadline(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	s := newSender(t, srv, nil)

	// A Retry-After beyond the deadline: give up at once instead of waiting past it.
	srv.Script("tok-later", fcmtest.RateLimited("30"))
	ctx := withDeadline(t, 2*time.Second)
	_, err := s.Send(ctx, msg("tok-later"))
	if se := sendError(t, err); se.Class != "rate_limited" || !se.Temporary || se.Attempts != 1 {
		t.Errorf("Retry-After past the deadline: %+v, want one temporary rate_limited attempt", se)
	}
	if ctx.Err() != nil {
		t.Error("Send waited for a Retry-After beyond its deadline")
	}

	// Always unavailable: retries until the deadline comes, never past it.
	srv.Fallback(fcmtest.Unavailable)
	ctx = withDeadline(t, 300*time.Millisecond)
	deadline, _ := ctx.Deadline()
	_, err = s.Send(ctx, msg("tok-down"))
	if se := sendError(t, err); se.Class != "unavailable" || !se.Temporary {
		t.Errorf("always 503: %+v, want a temporary unavailable error", se)
	}
	if over := time.Since(deadline); over > 100*time.Millisecond {
		t.Errorf("Send returned %v after its deadline", over)
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	s := newSender(t, srv, func(c *fcm.Config) { c.Concurrency = 3 })
	srv.Fallback(fcmtest.Slow(30 * time.Millisecond))
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if _, err := s.Send(withDeadline(t, 10*time.Second), msg("tok-many")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if m := srv.MaxInFlight(); m > 3 || m < 2 {
		t.Errorf("at most %d requests in flight, want 3 (the bound)", m)
	}
}

func TestWrongProjectDoesNotDisableTokens(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	s := newSender(t, srv, func(c *fcm.Config) { c.ProjectID = "another-project" })
	_, err := s.Send(withDeadline(t, 5*time.Second), msg("tok-a"))
	if se := sendError(t, err); se.TokenInvalid || se.Class != "not_found" || !se.Credentials {
		t.Errorf("wrong project: %+v, want not_found without disabling the token", se)
	}
}

func TestTokenEndpointProblems(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	s := newSender(t, srv, func(c *fcm.Config) { c.RequestTimeout = time.Second })

	// A hanging token endpoint does not hold a send past its deadline.
	srv.TokenEndpoint(time.Minute, false)
	ctx := withDeadline(t, 300*time.Millisecond)
	deadline, _ := ctx.Deadline()
	_, err := s.Send(ctx, msg("tok-a"))
	if se := sendError(t, err); !se.Temporary || se.TokenInvalid {
		t.Errorf("hanging token endpoint: %+v, want a temporary error", se)
	}
	if over := time.Since(deadline); over > 100*time.Millisecond {
		t.Errorf("Send returned %v after its deadline", over)
	}

	// A refused grant (a revoked key) is an auth error: kept for a later call, not retried now.
	srv = fcmtest.New(t)
	srv.TokenEndpoint(0, true)
	s = newSender(t, srv, nil)
	_, err = s.Send(withDeadline(t, 5*time.Second), msg("tok-a"))
	if se := sendError(t, err); se.Class != "auth" || !se.Temporary || !se.Credentials || se.Attempts != 1 {
		t.Errorf("refused grant: %+v, want one temporary auth attempt", se)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d send requests without an access token", n)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	s := newSender(t, srv, nil) // backoff 5-20 ms: only Retry-After can make it wait a second
	srv.Script("tok-busy", fcmtest.RateLimited("1"), fcmtest.OK)
	start := time.Now()
	res, err := s.Send(withDeadline(t, 5*time.Second), msg("tok-busy"))
	if err != nil || res.Attempts != 2 {
		t.Fatalf("Send = %+v, %v; want success on the second attempt", res, err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %v, before the Retry-After of 1 s", waited)
	}
}

// TestPushesExpireWithTheDay: a message with a TTL carries Android's ttl (seconds from now) and APNs'
// apns-expiration (the moment); without it, neither.
func TestPushesExpireWithTheDay(t *testing.T) {
	t.Parallel()
	srv := fcmtest.New(t)
	s := newSender(t, srv, nil)
	m := msg("tok-ttl")
	m.TTL = 90 * time.Minute
	sent := time.Now().Unix()
	if _, err := s.Send(withDeadline(t, 5*time.Second), m); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(withDeadline(t, 5*time.Second), msg("tok-no-ttl")); err != nil {
		t.Fatal(err)
	}
	got := srv.Delivered()
	r := got["tok-ttl"][0]
	if r.TTL != "5400s" {
		t.Errorf("android ttl %q, want 5400s", r.TTL)
	}
	if exp, err := strconv.ParseInt(r.APNSExpiration, 10, 64); err != nil || exp < sent+5400 || exp > sent+5402 {
		t.Errorf("apns-expiration %q, want %d (+2 s)", r.APNSExpiration, sent+5400)
	}
	if r := got["tok-no-ttl"][0]; r.TTL != "" || r.APNSExpiration != "" {
		t.Errorf("no Expires: ttl %q, apns-expiration %q; want neither", r.TTL, r.APNSExpiration)
	}
}
