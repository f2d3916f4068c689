package httpfn_test

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
)

// TestCapturedSignatureReplay is the attack of a reader of pg_net's queue: one captured header set of a
// real cron call, replayed inside its 300 s window with another evaluation date, other scenarios, a dry
// run or deliver-only, or to another path, is refused and writes nothing; replayed unchanged it runs once
// and is refused the second time.
func TestCapturedSignatureReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const captured = `{"trigger":"cron","job":"scenario-scheduler-daily"}`
	headers := signed(secret, time.Now(), captured)
	tampered := []struct{ name, path, body string }{
		{"three days back", "/", `{"trigger":"cron","job":"scenario-scheduler-daily","evaluation_date":"` + today(-3) + `"}`},
		{"tomorrow", "/", `{"trigger":"cron","job":"scenario-scheduler-daily","evaluation_date":"` + today(1) + `"}`},
		{"one scenario", "/", `{"trigger":"cron","job":"scenario-scheduler-daily","scenarios":["milestone"]}`},
		{"dry run", "/", `{"trigger":"cron","job":"scenario-scheduler-daily","dry_run":true}`},
		{"every scenario named", "/", `{"trigger":"cron","job":"scenario-scheduler-daily","scenarios":["inactivity","milestone","certification_expiry"]}`},
		{"deliver only", "/", `{"trigger":"cron","job":"scenario-scheduler-daily","deliver_only":true}`},
		{"another job", "/", `{"trigger":"cron","job":"scenario-scheduler-catch-up"}`},
		{"another path", "/other", captured},
		{"an empty body", "/", ``},
	}
	for _, tc := range tampered {
		res := b.do(t, request{path: tc.path, header: headers, body: tc.body})
		if res.status != 401 || res.errorCode() != "unauthorised" {
			t.Errorf("%s: %d %s, want 401", tc.name, res.status, res.raw)
		}
	}
	if n := b.writes(t); n != 0 {
		t.Fatalf("the tampered replays wrote %d rows", n)
	}

	if res := b.do(t, request{header: headers, body: captured}); res.status != 200 || res.json["trigger"] != "cron:scenario-scheduler-daily" {
		t.Fatalf("the captured call itself: %d %s", res.status, res.raw)
	}
	written := b.writes(t)
	if n := b.count(t, `select count(*) from public.notifications`); n != 1 {
		t.Fatalf("the captured call wrote %d notifications, want 1", n)
	}
	res := b.do(t, request{header: headers, body: captured})
	if msg := errorMessage(res); res.status != 401 || msg != "signature already used" {
		t.Errorf("replayed unchanged: %d %q, want 401 signature already used", res.status, msg)
	}
	// The same meaning with a fresh nonce is a new call (the daily run is already complete).
	if res := b.do(t, request{header: signed(secret, time.Now(), captured), body: captured}); res.status != 200 || res.json["status"] != "already_completed" {
		t.Errorf("a fresh signature: %d %s", res.status, res.raw)
	}
	if n := b.count(t, `select count(*) from public.notifications`); n != 1 || b.writes(t) < written {
		t.Errorf("after the replay: %d notifications, want 1", n)
	}
}

// TestSignedCallWithoutReplayGuard: a handler without a replay guard refuses every signed call (it could
// not tell a replay), and the raw secret still works.
func TestSignedCallWithoutReplayGuard(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOptions) { o.noReplay = true })
	const body = `{"trigger":"cron","job":"daily","dry_run":true}`
	res := b.do(t, request{header: signed(secret, time.Now(), body), body: body})
	if res.status != 500 || res.errorCode() != "internal" {
		t.Errorf("signed call without a replay guard: %d %s, want 500", res.status, res.raw)
	}
	if n := b.writes(t); n != 0 {
		t.Errorf("the refused call wrote %d rows", n)
	}
	if res := b.do(t, request{header: authed(""), body: `{"dry_run":true}`}); res.status != 200 {
		t.Errorf("raw secret: %d %s", res.status, res.raw)
	}
}

// TestStrictDecoding: duplicate keys, keys that match a field only ignoring case, unknown fields (a misspelt
// dry_run above all) and any query string answer 400 with a message naming the problem, with the raw
// secret and with a signature alike, through the real handler and database, and write nothing: no run, no
// checkpoint, no notification. Each of them once turned a dry run into a real one.
func TestStrictDecoding(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		name, path, body, message string
	}{
		{"duplicate dry_run, last false", "/", `{"dry_run":true,"dry_run":false}`, `duplicate key "dry_run"`},
		{"duplicate dry_run, last true", "/", `{"dry_run":false,"dry_run":true}`, `duplicate key "dry_run"`},
		{"duplicate through an escape", "/", `{"dry_run":true,"dry\u005frun":false}`, `duplicate key "dry_run"`},
		{"duplicate nested key", "/", `{"dry_run":true,"x":{"a":1,"a":2}}`, `duplicate key "a"`},
		{"duplicate key in an array's object", "/", `{"dry_run":true,"x":[{"b":1},{"b":1,"b":2}]}`, `duplicate key "b"`},
		{"Dry_Run", "/", `{"dry_run":true,"Dry_Run":false}`, `field "Dry_Run" is not "dry_run"`},
		{"DRY_RUN alone", "/", `{"DRY_RUN":true}`, `field "DRY_RUN" is not "dry_run"`},
		{"Evaluation_Date", "/", `{"dry_run":true,"Evaluation_Date":"` + today(-3) + `"}`, `field "Evaluation_Date" is not "evaluation_date"`},
		{"dry-run", "/", `{"dry-run":true}`, `unknown field "dry-run": did you mean "dry_run"?`},
		{"dryRun", "/", `{"dryRun":true}`, `unknown field "dryRun": did you mean "dry_run"?`},
		{"dry_runn", "/", `{"dry_runn":true}`, `unknown field "dry_runn": did you mean "dry_run"?`},
		{"an unknown field beside dry_run", "/", `{"dry_run":true,"note":"x"}`, `unknown field "note": the fields are`},
		{"query dry_run", "/?dry_run=true", `{}`, "query-string parameters are not accepted"},
		{"query with a dry-run body", "/?dry_run=false", `{"dry_run":true}`, "query-string parameters are not accepted"},
		{"bare question mark", "/?", `{}`, "query-string parameters are not accepted"},
		{"scenario with a comma", "/", `{"scenarios":["inactivity,milestone"]}`, "is not a scenario name"},
	}
	for _, tc := range cases {
		for _, auth := range []string{"secret", "signed"} {
			hdr := authed("application/json")
			if auth == "signed" {
				hdr = signed(secret, time.Now(), tc.body)
			}
			res := b.do(t, request{path: tc.path, header: hdr, body: tc.body})
			if msg := errorMessage(res); res.status != 400 || !strings.Contains(msg, tc.message) {
				t.Errorf("%s, %s: %d %q, want 400 naming %q", tc.name, auth, res.status, msg, tc.message)
			}
		}
	}
	if n := b.count(t, `select count(*) from public.notifications`); n != 0 {
		t.Fatalf("refused requests wrote %d notifications", n)
	}
	if n := b.writes(t); n != 0 {
		t.Fatalf("refused requests wrote %d rows", n)
	}
	// The control: the same handler writes for a plain request.
	if res := b.do(t, request{header: authed("application/json"), body: `{"dry_run":false}`}); res.status != 200 {
		t.Fatalf("control: %d %s", res.status, res.raw)
	}
	if n := b.count(t, `select count(*) from public.notifications`); n != 1 {
		t.Fatalf("control: %d notifications, want 1", n)
	}
}

// TestRejectionLogs: a rejected request is logged with the caller's address, and neither the answer nor
// the log line repeats more than a short excerpt of the input, however large.
func TestRejectionLogs(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	b := setup(t, func(o *setupOptions) { o.logger = zap.New(core) })
	huge := strings.Repeat("9", 60<<10)
	cases := []struct{ name, path, body string }{
		{"60 KiB evaluation_date", "/", `{"evaluation_date":"` + huge + `"}`},
		{"60 KiB scenario name", "/", `{"scenarios":["` + huge + `"]}`},
		{"60 KiB field name", "/", `{"Dry_Run` + huge + `":true,"DRY_RUN":true}`},
		{"30 KiB duplicate key", "/", `{"` + huge[:30<<10] + `":1,"` + huge[:30<<10] + `":2}`},
		{"long query string", "/?x=" + strings.Repeat("9", 8<<10), `{}`},
	}
	for _, tc := range cases {
		res := b.do(t, request{path: tc.path, header: authed("application/json"), body: tc.body})
		if res.status != 400 {
			t.Errorf("%s: %d, want 400", tc.name, res.status)
		}
		if run := longestRun(res.raw, '9'); run > 64 {
			t.Errorf("%s: the answer repeats %d bytes of the input: %.200s", tc.name, run, res.raw)
		}
	}
	// A signed call with an unknown field, refused, and an unauthenticated one.
	big := `{"trigger":"cron","x` + huge + `":1}`
	b.do(t, request{header: signed(secret, time.Now(), big), body: big})
	b.do(t, request{header: map[string]string{httpfn.SecretHeader: "wrong"}, body: "{}"})

	entries := logs.FilterMessage("request rejected").All()
	if len(entries) != len(cases)+2 {
		t.Fatalf("%d rejection lines, want %d", len(entries), len(cases)+2)
	}
	for _, e := range entries {
		fields := e.ContextMap()
		addr, _ := fields["remote_addr"].(string)
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("rejection logged without the caller's address: %v", fields)
		}
		line := ""
		for k, v := range fields {
			if s, ok := v.(string); ok {
				line += k + "=" + s + " "
			}
		}
		if run := longestRun(line, '9'); run > 64 || len(line) > 600 {
			t.Errorf("a log line of %d bytes repeats %d bytes of the input: %.300s", len(line), run, line)
		}
	}
	if n := len(logs.FilterMessage("request rejected").FilterField(zap.Int("status", 401)).All()); n != 1 {
		t.Errorf("%d 401 rejections logged, want 1", n)
	}
	if n := b.writes(t); n != 0 {
		t.Fatalf("rejected requests wrote %d rows", n)
	}
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

// errorMessage is the error.message of an error body.
func errorMessage(r response) string {
	e, _ := r.json["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}
