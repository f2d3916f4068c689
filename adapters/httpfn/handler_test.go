package httpfn_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
)

// TestBadRequests sends every malformed, unauthenticated or unacceptable request through a real HTTP
// server: each is answered with its status and a JSON error, and none writes anything to the database.
func TestBadRequests(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := time.Now()
	json := "application/json"
	big := `{"evaluation_date":"` + today(0) + `","padding":"` + strings.Repeat("x", httpfn.MaxBody) + `"}`
	cases := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"GET", request{method: http.MethodGet, header: authed("")}, 405, "method_not_allowed"},
		{"PUT", request{method: http.MethodPut, header: authed(json), body: "{}"}, 405, "method_not_allowed"},
		{"DELETE", request{method: http.MethodDelete}, 405, "method_not_allowed"},
		{"no secret", request{header: map[string]string{"Content-Type": json}, body: "{}"}, 401, "unauthorised"},
		{"a query string without a secret", request{path: "/?dry_run=true", header: map[string]string{"Content-Type": json}, body: "{}"}, 401, "unauthorised"},
		{"the secret in the query string only", request{path: "/?secret=" + secret, header: map[string]string{"Content-Type": json}, body: "{}"}, 401, "unauthorised"},
		{"a query string with the secret", request{path: "/?dry_run=true", header: authed(json), body: "{}"}, 400, "invalid"},
		{"wrong secret of the same length", request{header: map[string]string{httpfn.SecretHeader: strings.Repeat("x", len(secret))}, body: "{}"}, 401, "unauthorised"},
		{"shorter secret", request{header: map[string]string{httpfn.SecretHeader: secret[:10]}, body: "{}"}, 401, "unauthorised"},
		{"longer secret", request{header: map[string]string{httpfn.SecretHeader: secret + "x"}, body: "{}"}, 401, "unauthorised"},
		{"empty secret", request{header: map[string]string{httpfn.SecretHeader: ""}, body: "{}"}, 401, "unauthorised"},
		{"signature with a wrong key", request{header: signed(strings.Repeat("k", 32), now, "{}"), body: "{}"}, 401, "unauthorised"},
		{"signature 310 s old", request{header: signed(secret, now.Add(-310*time.Second), "{}"), body: "{}"}, 401, "unauthorised"},
		{"signature 310 s ahead", request{header: signed(secret, now.Add(310*time.Second), "{}"), body: "{}"}, 401, "unauthorised"},
		{"signature without timestamp", request{header: without(signed(secret, now, "{}"), httpfn.TimestampHeader), body: "{}"}, 401, "unauthorised"},
		{"signature without nonce", request{header: without(signed(secret, now, "{}"), httpfn.NonceHeader), body: "{}"}, 401, "unauthorised"},
		{"timestamp not a number", request{header: with(signed(secret, now, "{}"), httpfn.TimestampHeader, "+1"), body: "{}"}, 401, "unauthorised"},
		{"nonce too short", request{header: with(signed(secret, now, "{}"), httpfn.NonceHeader, "0123456789abcde"), body: "{}"}, 401, "unauthorised"},
		{"nonce with capitals", request{header: with(signed(secret, now, "{}"), httpfn.NonceHeader, "0123456789ABCDEF"), body: "{}"}, 401, "unauthorised"},
		{"signature v1 of the timestamp alone", request{header: v1Signed(secret, now), body: "{}"}, 401, "unauthorised"},
		{"bad signature with a good raw secret", request{header: with(with(signed(secret, now, "{}"), httpfn.SecretHeader, secret), httpfn.SignatureHeader, "v2=00"), body: "{}"}, 401, "unauthorised"},
		{"signed body with an unknown field", request{header: signed(secret, now, `{"dry_run":true}`), body: `{"dry_run":true,"x":1}`}, 400, "invalid"},
		{"unknown field with the secret", request{header: authed(json), body: `{"dry_run":true,"x":1}`}, 400, "invalid"},
		{"misspelt dry_run with the secret", request{header: authed(json), body: `{"dry-run":true}`}, 400, "invalid"},
		{"null", request{header: authed(json), body: "null"}, 400, "invalid"},
		{"array", request{header: authed(json), body: "[]"}, 400, "invalid"},
		{"array of an object", request{header: authed(json), body: "[{}]"}, 400, "invalid"},
		{"string", request{header: authed(json), body: `"today"`}, 400, "invalid"},
		{"number", request{header: authed(json), body: "42"}, 400, "invalid"},
		{"two objects", request{header: authed(json), body: "{} {}"}, 400, "invalid"},
		{"trailing brace", request{header: authed(json), body: "{}}"}, 400, "invalid"},
		{"truncated", request{header: authed(json), body: `{"dry_run":`}, 400, "invalid"},
		{"bad date", request{header: authed(json), body: `{"evaluation_date":"2026-13-01"}`}, 400, "invalid"},
		{"date in another format", request{header: authed(json), body: `{"evaluation_date":"26.11.2026"}`}, 400, "invalid"},
		{"date 91 days ago", request{header: authed(json), body: `{"evaluation_date":"` + today(-91) + `"}`}, 400, "invalid"},
		{"date 2 days ahead", request{header: authed(json), body: `{"evaluation_date":"` + today(2) + `"}`}, 400, "invalid"},
		{"unknown scenario", request{header: authed(json), body: `{"scenarios":["birthday"]}`}, 400, "invalid"},
		{"duplicate scenario", request{header: authed(json), body: `{"scenarios":["inactivity","inactivity"]}`}, 400, "invalid"},
		{"date as a number", request{header: authed(json), body: `{"evaluation_date":20261126}`}, 400, "invalid"},
		{"date null", request{header: authed(json), body: `{"evaluation_date":null}`}, 400, "invalid"},
		{"scenarios as a string", request{header: authed(json), body: `{"scenarios":"inactivity"}`}, 400, "invalid"},
		{"scenarios of numbers", request{header: authed(json), body: `{"scenarios":[1]}`}, 400, "invalid"},
		{"dry_run as a string", request{header: authed(json), body: `{"dry_run":"true"}`}, 400, "invalid"},
		{"deliver_only as a number", request{header: authed(json), body: `{"deliver_only":1}`}, 400, "invalid"},
		{"deliver_only with dry_run", request{header: authed(json), body: `{"deliver_only":true,"dry_run":true}`}, 400, "invalid"},
		{"trigger as a number", request{header: authed(json), body: `{"trigger":5}`}, 400, "invalid"},
		{"job as an array", request{header: authed(json), body: `{"trigger":"cron","job":[]}`}, 400, "invalid"},
		{"trigger with bad characters", request{header: authed(json), body: `{"trigger":"Cron!"}`}, 400, "invalid"},
		{"trigger reserved", request{header: authed(json), body: `{"trigger":"direct"}`}, 400, "invalid"},
		{"job too long", request{header: authed(json), body: `{"job":"` + strings.Repeat("j", 65) + `"}`}, 400, "invalid"},
		{"job with a space", request{header: authed(json), body: `{"job":"daily run"}`}, 400, "invalid"},
		{"job with another trigger", request{header: authed(json), body: `{"trigger":"http","job":"daily"}`}, 400, "invalid"},
		{"shard 0/4", request{header: authed(json), body: `{"shard":"0/4"}`}, 400, "invalid"},
		{"shard 5/4", request{header: authed(json), body: `{"shard":"5/4"}`}, 400, "invalid"},
		{"shard of 65", request{header: authed(json), body: `{"shard":"1/65"}`}, 400, "invalid"},
		{"shard with a leading zero", request{header: authed(json), body: `{"shard":"01/4"}`}, 400, "invalid"},
		{"shard empty", request{header: authed(json), body: `{"shard":""}`}, 400, "invalid"},
		{"shard as a number", request{header: authed(json), body: `{"shard":2}`}, 400, "invalid"},
		{"shard as an object", request{header: authed(json), body: `{"shard":{"k":1,"n":2}}`}, 400, "invalid"},
		{"shard null", request{header: authed(json), body: `{"shard":null}`}, 400, "invalid"},
		{"shard with deliver_only", request{header: authed(json), body: `{"shard":"1/2","deliver_only":true}`}, 400, "invalid"},
		{"Shard in capitals", request{header: authed(json), body: `{"Shard":"1/2"}`}, 400, "invalid"},
		{"signed shard, another shard sent", request{header: signed(secret, now, `{"shard":"1/2"}`), body: `{"shard":"2/2"}`}, 401, "unauthorised"},
		{"signed without a shard, a shard added", request{header: signed(secret, now, `{}`), body: `{"shard":"1/2"}`}, 401, "unauthorised"},
		{"body over 64 KiB", request{header: authed(json), body: big}, 413, "body_too_large"},
		{"invalid UTF-8", request{header: authed(json), body: "{\"evaluation_date\":\"\xff\xfe\"}"}, 400, "invalid"},
		{"text/plain", request{header: authed("text/plain"), body: "{}"}, 415, "unsupported_media_type"},
		{"form", request{header: authed("application/x-www-form-urlencoded"), body: "a=b"}, 415, "unsupported_media_type"},
		{"malformed content type", request{header: authed("application/json; =="), body: "{}"}, 415, "unsupported_media_type"},
	}
	for _, tc := range cases {
		res := b.do(t, tc.req)
		got := []any{res.status, res.errorCode(), res.header.Get("Content-Type")}
		want := []any{tc.status, tc.code, "application/json"}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: (-want +got)\n%s\n%s", tc.name, d, res.raw)
		}
		if strings.Contains(res.raw, secret) || strings.Contains(res.raw, previousSecret) {
			t.Errorf("%s: the answer contains a secret", tc.name)
		}
		if tc.status == 405 && res.header.Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", tc.name)
		}
	}
	if n := b.writes(t); n != 0 {
		t.Fatalf("bad requests wrote %d rows (runs, checkpoints, notifications); want none", n)
	}

	// The control: one good request does write, so the assertion above can fail.
	if res := b.do(t, request{header: authed("")}); res.status != 200 {
		t.Fatalf("good request: %d %s", res.status, res.raw)
	}
	if n := b.count(t, `select count(*) from public.notifications`); n != 1 {
		t.Fatalf("good request: %d notifications, want 1", n)
	}
}

// TestAccepted covers the ways a request is accepted and what its report says about who called.
func TestAccepted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := time.Now()
	cases := []struct {
		name    string
		req     request
		trigger string
	}{
		{"empty body, no content type", request{header: map[string]string{httpfn.SecretHeader: secret}}, "http"},
		{"empty object", request{header: authed("application/json"), body: `{"dry_run":true}`}, "http"},
		{"previous secret", request{header: map[string]string{httpfn.SecretHeader: previousSecret}, body: `{"dry_run":true}`}, "http"},
		{"charset parameter", request{header: authed("application/json; charset=utf-8"), body: `{"dry_run":true}`}, "http"},
		{"signed now", request{header: signed(secret, now, `{"dry_run":true,"trigger":"cron","job":"scenario-scheduler.daily"}`), body: `{"dry_run":true,"trigger":"cron","job":"scenario-scheduler.daily"}`}, "cron:scenario-scheduler.daily"},
		{"signed 290 s ago with the previous secret", request{header: signed(previousSecret, now.Add(-290*time.Second), `{"dry_run":true,"job":"daily"}`), body: `{"dry_run":true,"job":"daily"}`}, "cron:daily"},
		{"signed 290 s ahead", request{header: signed(secret, now.Add(290*time.Second), `{"dry_run":true,"trigger":"catch-up"}`), body: `{"dry_run":true,"trigger":"catch-up"}`}, "catch-up"},
		{"signed, keys in another order and spacing", request{header: signed(secret, now, `{"trigger":"cron","dry_run":true,"job":"reordered"}`), body: `{ "job" : "reordered", "dry_run":true, "trigger":"cron" }`}, "cron:reordered"},
		{"manual call from the database", request{header: signed(secret, now, `{"dry_run":true,"trigger":"manual","caller":"postgres"}`), body: `{"dry_run":true,"trigger":"manual","caller":"postgres"}`}, "manual:postgres"},
		{"signed shard", request{header: signed(secret, now, `{"dry_run":true,"job":"fan-out","shard":"3/4"}`), body: `{"dry_run":true,"job":"fan-out","shard":"3/4"}`}, "cron:fan-out"},
	}
	for _, tc := range cases {
		res := b.do(t, tc.req)
		if res.status != 200 {
			t.Errorf("%s: status %d: %s", tc.name, res.status, res.raw)
			continue
		}
		if res.json["trigger"] != tc.trigger {
			t.Errorf("%s: trigger %v, want %q", tc.name, res.json["trigger"], tc.trigger)
		}
	}
	if n := b.count(t, `select count(*) from scheduler.runs where trigger = 'cron:daily'`); n != 1 {
		t.Fatalf("the run of job daily was recorded %d times, want once", n)
	}
	// The signed shard reached the run: its stored request and its report name it.
	if n := b.count(t, `select count(*) from scheduler.runs where trigger = 'cron:fan-out'
		and request->>'shard' = '3/4' and report->>'shard' = '3/4'`); n != 1 {
		t.Fatalf("%d runs of job fan-out name shard 3/4 in their request and report, want 1", n)
	}
}

// with returns a copy of h with header k set to v.
func with(h map[string]string, k, v string) map[string]string {
	c := maps.Clone(h)
	c[k] = v
	return c
}

// without returns a copy of h without header k.
func without(h map[string]string, k string) map[string]string {
	c := maps.Clone(h)
	delete(c, k)
	return c
}

// v1Signed is the retired scheme: v1=<hex HMAC-SHA256 of "v1:<timestamp>">, no nonce, no body.
func v1Signed(key string, t time.Time) map[string]string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("v1:" + ts))
	return map[string]string{httpfn.TimestampHeader: ts, httpfn.SignatureHeader: "v1=" + hex.EncodeToString(m.Sum(nil)),
		"Content-Type": "application/json"}
}

// TestHealth answers from configuration alone: the engine is never called and no value is shown.
func TestHealth(t *testing.T) {
	t.Parallel()
	health := map[string]string{"DATABASE_URL": "set", "SCHEDULER_SECRET": "set", "SCHEDULER_SECRET_PREVIOUS": "unset"}
	b := setup(t, func(o *setupOptions) {
		o.health = health
		o.runner = func(httpfn.Runner) httpfn.Runner { return panicRunner{} }
	})
	for _, path := range []string{"/healthz", "/healthz?verbose=1"} {
		res, err := http.Get(b.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var got httpfn.Health
		decodeJSON(t, res, &got)
		if d := cmp.Diff(httpfn.Health{Status: "ok", Config: health}, got); d != "" || res.StatusCode != 200 {
			t.Errorf("GET %s: %d (-want +got)\n%s", path, res.StatusCode, d)
		}
	}
}
