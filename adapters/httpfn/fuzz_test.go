package httpfn_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/engine"
)

// FuzzDecode: the decoder never panics, and what it accepts is a well-formed request: valid UTF-8 in,
// no top-level key but the body's fields, a trigger that is empty, a plain name, cron:<job> or
// manual:<caller>; what it refuses is Invalid or an unsupported media type, with a message that does not
// echo the body at length. A body whose meaning is a dry run (any key equal to "dry_run" ignoring case,
// with the value true) never decodes to a run that writes. Decode and DecodeSigned accept and refuse the
// same bodies.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"", "{}", "null", "[]", `{"evaluation_date":"2026-11-26","scenarios":["inactivity","milestone"],"dry_run":true}`,
		`{"trigger":"cron","job":"scenario-scheduler.daily"}`, `{"trigger":"direct"}`, `{"job":"a b"}`,
		`{"x":1,"y":{"z":[1,2]}}`, "{\"a\":\"\xff\"}", `{"dry_run":null}`, `{} {}`, `{"scenarios":"inactivity"}`,
		`{"evaluation_date":20261126}`, "\ufeff{}", `{"a":1,"a":2}`, `{"job":"` + strings.Repeat("j", 65) + `"}`,
		`{"dry_run":true,"dry_run":false}`, `{"Dry_Run":true}`, `{"DRY_RUN":true,"dry_run":false}`,
		`{"x":{"a":1,"a":2}}`, `{"dry_run":true,"x":[{"dry_run":false}]}`, `{"trigger":"manual","caller":"postgres"}`,
		`{"dry_run":false,"dry\u005frun":true}`, `{"evaluation_date":"` + strings.Repeat("9", 300) + `"}`,
		`{"dry-run":true}`, `{"dryRun":true}`, `{"dry_runn":true}`, `{"dry_run":true,"note":"x"}`,
	} {
		f.Add("application/json", []byte(s))
	}
	f.Add("", []byte("{}"))
	f.Add("text/plain", []byte("{}"))
	f.Add("application/json; charset=utf-8", []byte(`{"dry_run":false}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req, err := httpfn.Decode(contentType, body)
		signedBody, signedErr := httpfn.DecodeSigned(contentType, body)
		if meansDryRun(body) {
			if err == nil && !req.DryRun {
				t.Fatalf("a dry run decoded as a real run: %q", body)
			}
			if signedErr == nil && !signedBody.DryRun {
				t.Fatalf("a dry run decoded as a real signed run: %q", body)
			}
		}
		if (err == nil) != (signedErr == nil) {
			t.Fatalf("Decode: %v, DecodeSigned: %v; want the same verdict: %q", err, signedErr, body)
		}
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
		case strings.HasPrefix(tr, "cron:"), strings.HasPrefix(tr, "manual:"):
			_, name, _ := strings.Cut(tr, ":")
			if name == "" || len(name) > 64 || strings.ContainsAny(name, " :/\"\\") {
				t.Fatalf("trigger %q", tr)
			}
		default:
			if len(tr) > 32 || strings.ContainsAny(tr, " :/\"\\ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
				t.Fatalf("trigger %q", tr)
			}
		}
		for _, k := range topLevelKeys(body) {
			if !slices.Contains(knownFields, k) {
				t.Fatalf("accepted the unknown field %q: %q", k, body)
			}
		}
		if slices.Contains(req.Scenarios, "") && len(req.Scenarios) == 0 {
			t.Fatal("impossible")
		}
	})
}

// FuzzVerifySignature: the verifier never panics and accepts exactly the signature Sign makes for the
// request it came with and a timestamp inside the window, whatever the headers hold.
func FuzzVerifySignature(f *testing.F) {
	now := time.Unix(1_790_000_000, 0)
	body := httpfn.Body{Trigger: "cron", Job: "scenario-scheduler-daily"}
	s := httpfn.SignWithNonce(secret, now, "0123456789abcdef0123456789abcdef", "POST", "/", body)
	f.Add(s.Timestamp, s.Nonce, s.Value, "/", false)
	f.Add(s.Timestamp, s.Nonce, s.Value+"0", "/", false)
	f.Add(s.Timestamp, s.Nonce, s.Value, "/other", false)
	f.Add(s.Timestamp, s.Nonce, s.Value, "/", true)
	f.Add("", "", "", "", false)
	f.Add("1790000000", "0123456789abcdef", "v2=", "/", false)
	f.Add("-1", "nonce", "v2=00", "/", false)
	f.Add("99999999999999999999", s.Nonce, s.Value, "/", false)
	f.Add("1789999700", "----------------", "v2=zz", "", false)
	f.Fuzz(func(t *testing.T, timestamp, nonce, signature, path string, dryRun bool) {
		b := body
		b.DryRun = dryRun
		sig := httpfn.Signature{Timestamp: timestamp, Nonce: nonce, Value: signature}
		if err := httpfn.VerifySignature(sig, "POST", path, b, now, secret, previousSecret); err != nil {
			return
		}
		ts, ok := parseDecimal(timestamp)
		if !ok {
			t.Fatalf("accepted timestamp %q", timestamp)
		}
		for _, key := range []string{secret, previousSecret} {
			if httpfn.SignWithNonce(key, time.Unix(ts, 0), nonce, "POST", path, b).Value == signature {
				return
			}
		}
		t.Fatalf("accepted timestamp %q nonce %q signature %q path %q", timestamp, nonce, signature, path)
	})
}

// parseDecimal reads plain decimal seconds as Sign writes them (no sign, no leading zero).
func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 12 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// knownFields are the body's fields: httpfn.Body's JSON names.
var knownFields = func() []string {
	var names []string
	for f := range reflect.TypeFor[httpfn.Body]().Fields() {
		names = append(names, f.Tag.Get("json"))
	}
	return names
}()

// topLevelKeys are the keys of the body's object, as far as it is one.
func topLevelKeys(body []byte) []string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(body, &m)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// meansDryRun reports whether a body asks for a dry run in any spelling: some top-level key equal to
// "dry_run" ignoring case (after JSON unescaping) has the value true, whatever other keys say.
func meansDryRun(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return false
		}
		if strings.EqualFold(key, "dry_run") && string(bytes.TrimSpace(v)) == "true" {
			return true
		}
	}
	return false
}
