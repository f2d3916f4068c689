package httpfn_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
)

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_790_000_000, 0)
	ts, sig := httpfn.Sign(secret, now)
	tsPrev, sigPrev := httpfn.Sign(previousSecret, now)
	at := func(d time.Duration) (string, string) { return httpfn.Sign(secret, now.Add(d)) }
	cases := []struct {
		name    string
		ts, sig string
		want    error
	}{
		{"current secret", ts, sig, nil},
		{"previous secret", tsPrev, sigPrev, nil},
		{"nothing", "", "", httpfn.ErrNoSignature},
		{"no timestamp", "", sig, httpfn.ErrBadSignature},
		{"no signature", ts, "", httpfn.ErrBadSignature},
		{"uppercase hex", ts, "v1=" + upper(sig[3:]), httpfn.ErrBadSignature},
		{"other version", ts, "v2" + sig[2:], httpfn.ErrBadSignature},
		{"signature of another time", ts, sigPrev[:3] + sig[4:] + "0", httpfn.ErrBadSignature},
		{"signed timestamp with a space", " " + ts, sig, httpfn.ErrBadSignature},
		{"signed timestamp with a sign", "+" + ts, sig, httpfn.ErrBadSignature},
		{"timestamp too long", "0000000" + ts, sig, httpfn.ErrBadSignature},
	}
	for _, d := range []time.Duration{-300 * time.Second, 300 * time.Second} {
		a, b := at(d)
		cases = append(cases, struct {
			name    string
			ts, sig string
			want    error
		}{"edge " + d.String(), a, b, nil})
	}
	for _, d := range []time.Duration{-301 * time.Second, 301 * time.Second, -24 * time.Hour} {
		a, b := at(d)
		cases = append(cases, struct {
			name    string
			ts, sig string
			want    error
		}{"outside " + d.String(), a, b, httpfn.ErrStale})
	}
	for _, tc := range cases {
		err := httpfn.VerifySignature(tc.ts, tc.sig, now, secret, previousSecret)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	// Without a previous secret configured, the previous secret's signature is refused.
	if err := httpfn.VerifySignature(tsPrev, sigPrev, now, secret, ""); !errors.Is(err, httpfn.ErrBadSignature) {
		t.Errorf("previous secret not configured: got %v", err)
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// TestSignatureMatchesPgcrypto: the database signs cron invocations with pgcrypto; both sides must agree.
func TestSignatureMatchesPgcrypto(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	now := time.Now()
	ts, want := httpfn.Sign(secret, now)
	// The contract puts pgcrypto in schema extensions, as Supabase does.
	if _, err := pool.Exec(context.Background(), `create schema if not exists extensions;
		create extension if not exists pgcrypto with schema extensions`); err != nil {
		t.Fatal(err)
	}
	var got string
	err := pool.QueryRow(context.Background(),
		`select 'v1=' || encode(extensions.hmac('v1:' || $1, $2, 'sha256'), 'hex')`, ts, secret).Scan(&got)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("pgcrypto %s, Go %s", got, want)
	}
	if err := httpfn.VerifySignature(strconv.FormatInt(now.Unix(), 10), got, now, secret); err != nil {
		t.Fatal(err)
	}
}
