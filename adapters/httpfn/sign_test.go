package httpfn_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
)

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_790_000_000, 0)
	body := httpfn.Body{Trigger: "cron", Job: "scenario-scheduler-daily", Scenarios: []string{"inactivity", "milestone"}}
	const nonce = "0123456789abcdef0123456789abcdef"
	sig := httpfn.SignWithNonce(secret, now, nonce, http.MethodPost, "/", body)
	prev := httpfn.SignWithNonce(previousSecret, now, nonce, http.MethodPost, "/", body)
	at := func(d time.Duration) httpfn.Signature {
		return httpfn.SignWithNonce(secret, now.Add(d), nonce, http.MethodPost, "/", body)
	}
	edit := func(f func(*httpfn.Signature)) httpfn.Signature { s := sig; f(&s); return s }
	type tc struct {
		name         string
		sig          httpfn.Signature
		method, path string
		body         httpfn.Body
		want         error
	}
	cases := []tc{
		{"current secret", sig, "POST", "/", body, nil},
		{"previous secret", prev, "POST", "/", body, nil},
		{"empty path is /", sig, "POST", "", body, nil},
		{"method in lower case", sig, "post", "/", body, nil},
		{"nothing", httpfn.Signature{}, "POST", "/", body, httpfn.ErrNoSignature},
		{"no timestamp", edit(func(s *httpfn.Signature) { s.Timestamp = "" }), "POST", "/", body, httpfn.ErrBadSignature},
		{"no nonce", edit(func(s *httpfn.Signature) { s.Nonce = "" }), "POST", "/", body, httpfn.ErrBadSignature},
		{"another nonce", edit(func(s *httpfn.Signature) { s.Nonce = strings.Repeat("f", 32) }), "POST", "/", body, httpfn.ErrBadSignature},
		{"nonce of 65 characters", edit(func(s *httpfn.Signature) { s.Nonce = strings.Repeat("a", 65) }), "POST", "/", body, httpfn.ErrBadSignature},
		{"no signature", edit(func(s *httpfn.Signature) { s.Value = "" }), "POST", "/", body, httpfn.ErrBadSignature},
		{"uppercase hex", edit(func(s *httpfn.Signature) { s.Value = "v2=" + strings.ToUpper(s.Value[3:]) }), "POST", "/", body, httpfn.ErrBadSignature},
		{"version v1", edit(func(s *httpfn.Signature) { s.Value = "v1" + s.Value[2:] }), "POST", "/", body, httpfn.ErrBadSignature},
		{"timestamp with a space", edit(func(s *httpfn.Signature) { s.Timestamp = " " + s.Timestamp }), "POST", "/", body, httpfn.ErrBadSignature},
		{"timestamp with a sign", edit(func(s *httpfn.Signature) { s.Timestamp = "+" + s.Timestamp }), "POST", "/", body, httpfn.ErrBadSignature},
		{"timestamp too long", edit(func(s *httpfn.Signature) { s.Timestamp = "0000000" + s.Timestamp }), "POST", "/", body, httpfn.ErrBadSignature},
		{"another path", sig, "POST", "/other", body, httpfn.ErrBadSignature},
		{"another method", sig, "PUT", "/", body, httpfn.ErrBadSignature},
	}
	// Every body field the signature covers changes it.
	for name, f := range map[string]func(*httpfn.Body){
		"evaluation_date": func(b *httpfn.Body) { b.EvaluationDate = "2026-11-26" },
		"dry_run":         func(b *httpfn.Body) { b.DryRun = true },
		"deliver_only":    func(b *httpfn.Body) { b.DeliverOnly = true },
		"scenarios order": func(b *httpfn.Body) { b.Scenarios = []string{"milestone", "inactivity"} },
		"scenarios fewer": func(b *httpfn.Body) { b.Scenarios = b.Scenarios[:1] },
		"scenarios none":  func(b *httpfn.Body) { b.Scenarios = nil },
		"job":             func(b *httpfn.Body) { b.Job = "scenario-scheduler-catch-up" },
		"trigger":         func(b *httpfn.Body) { b.Trigger = "" },
		"caller":          func(b *httpfn.Body) { b.Caller = "postgres" },
	} {
		b := body
		f(&b)
		cases = append(cases, tc{"another " + name, sig, "POST", "/", b, httpfn.ErrBadSignature})
	}
	for _, d := range []time.Duration{-300 * time.Second, 300 * time.Second} {
		cases = append(cases, tc{"edge " + d.String(), at(d), "POST", "/", body, nil})
	}
	for _, d := range []time.Duration{-301 * time.Second, 301 * time.Second, -24 * time.Hour} {
		cases = append(cases, tc{"outside " + d.String(), at(d), "POST", "/", body, httpfn.ErrStale})
	}
	for _, c := range cases {
		err := httpfn.VerifySignature(c.sig, c.method, c.path, c.body, now, secret, previousSecret)
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// Without a previous secret configured, the previous secret's signature is refused.
	if err := httpfn.VerifySignature(prev, "POST", "/", body, now, secret, ""); !errors.Is(err, httpfn.ErrBadSignature) {
		t.Errorf("previous secret not configured: got %v", err)
	}
	// Sign draws a new nonce every time: two signatures of the same request differ.
	if a, b := httpfn.Sign(secret, now, "POST", "/", body), httpfn.Sign(secret, now, "POST", "/", body); a.Nonce == b.Nonce || a.Value == b.Value || len(a.Nonce) != 32 {
		t.Errorf("two signatures of one request: nonces %q and %q", a.Nonce, b.Nonce)
	}
}

// TestSignatureMatchesPgcrypto: the database signs with pgcrypto's hmac() over the same canonical text.
func TestSignatureMatchesPgcrypto(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	now := time.Now()
	body := httpfn.Body{Trigger: "manual", Caller: "postgres", Scenarios: []string{"milestone"}, DryRun: true}
	want := httpfn.Sign(secret, now, http.MethodPost, "/fn", body)
	var got string
	err := pool.QueryRow(context.Background(), `select 'v2=' || encode(extensions.hmac($1, $2, 'sha256'), 'hex')`,
		httpfn.Canonical(want.Timestamp, want.Nonce, http.MethodPost, "/fn", body), secret).Scan(&got)
	if err != nil {
		t.Fatal(err)
	}
	if got != want.Value {
		t.Fatalf("pgcrypto %s, Go %s", got, want.Value)
	}
}

func TestCanonical(t *testing.T) {
	t.Parallel()
	got := httpfn.Canonical("1790000000", "0123456789abcdef", "post", "", httpfn.Body{
		EvaluationDate: "2026-11-26", Scenarios: []string{"milestone", "inactivity"}, DryRun: true, Trigger: "cron", Job: "j"})
	want := "v2\n1790000000\n0123456789abcdef\nPOST\n/\ndeliver_only=false\ndry_run=true\nevaluation_date=2026-11-26\n" +
		"job=j\nscenarios=milestone,inactivity\ntrigger=cron\ncaller="
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// A shard adds one last line; without one the text is the same as before shards existed.
	sharded := httpfn.Canonical("1790000000", "0123456789abcdef", "post", "", httpfn.Body{
		EvaluationDate: "2026-11-26", Scenarios: []string{"milestone", "inactivity"}, DryRun: true, Trigger: "cron", Job: "j",
		Shard: "2/4"})
	if sharded != want+"\nshard=2/4" {
		t.Fatalf("sharded: got\n%s\nwant\n%s", sharded, want+"\nshard=2/4")
	}
}
