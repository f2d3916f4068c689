package httpfn_test

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/engine"
)

// FuzzDecode: the decoder never panics, and what it accepts is a well-formed request: valid UTF-8 in,
// a trigger that is empty, a plain name or cron:<job>, warnings bounded; what it refuses is Invalid or
// an unsupported media type, with a message that does not echo the body at length.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"", "{}", "null", "[]", `{"evaluation_date":"2026-11-26","scenarios":["inactivity","milestone"],"dry_run":true}`,
		`{"trigger":"cron","job":"scenario-scheduler.daily"}`, `{"trigger":"direct"}`, `{"job":"a b"}`,
		`{"x":1,"y":{"z":[1,2]}}`, "{\"a\":\"\xff\"}", `{"dry_run":null}`, `{} {}`, `{"scenarios":"inactivity"}`,
		`{"evaluation_date":20261126}`, "\ufeff{}", `{"a":1,"a":2}`, `{"job":"` + strings.Repeat("j", 65) + `"}`,
	} {
		f.Add("application/json", []byte(s))
	}
	f.Add("", []byte("{}"))
	f.Add("text/plain", []byte("{}"))
	f.Add("application/json; charset=utf-8", []byte(`{"dry_run":false}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req, err := httpfn.Decode(contentType, body)
		if err != nil {
			code := engine.ErrorCode(err)
			if code != engine.Invalid && code != httpfn.CodeMediaType {
				t.Fatalf("error code %q: %v", code, err)
			}
			if msg := engine.ErrorMessage(err); len(msg) > 200 || !utf8.ValidString(msg) {
				t.Fatalf("error message of %d bytes: %q", len(msg), msg)
			}
			return
		}
		if len(strings.TrimSpace(string(body))) > 0 && !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
		}
		switch tr := req.Trigger; {
		case tr == "", tr == "cron":
		case tr == engine.TriggerDirect:
			t.Fatalf("accepted the reserved trigger %q", tr)
		case strings.HasPrefix(tr, "cron:"):
			if job := tr[len("cron:"):]; job == "" || len(job) > 64 || strings.ContainsAny(job, " :/\"\\") {
				t.Fatalf("job %q", job)
			}
		default:
			if len(tr) > 32 || strings.ContainsAny(tr, " :/\"\\ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
				t.Fatalf("trigger %q", tr)
			}
		}
		if len(req.Warnings) > 11 {
			t.Fatalf("%d warnings", len(req.Warnings))
		}
		if slices.Contains(req.Scenarios, "") && len(req.Scenarios) == 0 {
			t.Fatal("impossible")
		}
	})
}

// FuzzVerifySignature: the verifier never panics and accepts exactly the signature Sign makes for a
// timestamp inside the window, whatever the headers hold.
func FuzzVerifySignature(f *testing.F) {
	now := time.Unix(1_790_000_000, 0)
	ts, sig := httpfn.Sign(secret, now)
	f.Add(ts, sig)
	f.Add(ts, sig+"0")
	f.Add("", "")
	f.Add("1790000000", "v1=")
	f.Add("-1", "v1=00")
	f.Add("99999999999999999999", sig)
	f.Add("1789999700", "v1=zz")
	f.Fuzz(func(t *testing.T, timestamp, signature string) {
		err := httpfn.VerifySignature(timestamp, signature, now, secret, previousSecret)
		if err != nil {
			return
		}
		ok := false
		for _, key := range []string{secret, previousSecret} {
			if _, want := signAt(key, timestamp); want == signature {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("accepted timestamp %q signature %q", timestamp, signature)
		}
	})
}

// signAt signs a timestamp given as text (when it is plain decimal seconds).
func signAt(key, timestamp string) (string, string) {
	var n int64
	for _, c := range timestamp {
		if c < '0' || c > '9' || n > 1e12 {
			return "", ""
		}
		n = n*10 + int64(c-'0')
	}
	ts, sig := httpfn.Sign(key, time.Unix(n, 0))
	if ts != timestamp {
		return "", "" // leading zeros: not the canonical text Sign signs
	}
	return ts, sig
}
