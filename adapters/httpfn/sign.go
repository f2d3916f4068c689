package httpfn

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a signed invocation (the cron path): no raw secret waits in pg_net's queue, only a signature
// over the whole request that expires and is accepted once.
const (
	TimestampHeader = "X-Scheduler-Timestamp"
	NonceHeader     = "X-Scheduler-Nonce"
	SignatureHeader = "X-Scheduler-Signature"
)

// SignatureWindow is how far a signed timestamp may be from the receiver's clock, either way. A signature
// is remembered (ReplayGuard) until its timestamp plus the window.
const SignatureWindow = 300 * time.Second

// signatureVersion is the scheme version: the first line of the signed message and the prefix of the
// signature header. v1 (a timestamp alone) is no longer accepted: it let one signature carry any body.
const signatureVersion = "v2"

// Why a signature was refused.
var (
	ErrNoSignature  = errors.New("no signature")
	ErrStale        = errors.New("timestamp outside the allowed window")
	ErrBadSignature = errors.New("wrong signature")
	ErrReplayed     = errors.New("signature already used")
)

// Signature holds the three headers of a signed call.
type Signature struct {
	Timestamp string // unix seconds
	Nonce     string // 32 lowercase hex characters from the signer (16 to 64 of [0-9a-z-] accepted)
	Value     string // "v2=" and the lowercase hex HMAC-SHA256 of the canonical request
}

// SignatureFrom reads the signature headers of h.
func SignatureFrom(h http.Header) Signature {
	return Signature{Timestamp: h.Get(TimestampHeader), Nonce: h.Get(NonceHeader), Value: h.Get(SignatureHeader)}
}

// Present reports whether any of the signature headers is set: such a call is judged as signed.
func (s Signature) Present() bool { return s.Timestamp != "" || s.Nonce != "" || s.Value != "" }

// Set writes the three headers into h.
func (s Signature) Set(h http.Header) {
	h.Set(TimestampHeader, s.Timestamp)
	h.Set(NonceHeader, s.Nonce)
	h.Set(SignatureHeader, s.Value)
}

// Canonical is the message a signature covers: the lines below joined by "\n", without a trailing newline.
// It is what the request means, not its bytes (pg_net re-serialises the jsonb body), so it is computed
// from the decoded body; the database's scheduler.canonical_request() computes the same.
//
//	v2
//	<timestamp>
//	<nonce>
//	<METHOD>
//	<path, "/" when empty>
//	deliver_only=<true|false>
//	dry_run=<true|false>
//	evaluation_date=<date or empty>
//	job=<job or empty>
//	scenarios=<names in the body's order joined by ",", or empty>
//	trigger=<trigger or empty>
//	caller=<caller or empty>
//	shard=<k/N>                     (only when the body names a shard)
//	slot=<zone>@<HH>                (only when the body names a slot)
//
// The shard line comes after the others and only for a sharded request, so an unsharded request's canonical form, and
// so its signature, is what it was before shards existed: a database and a function deployed on either side
// of that change still agree on every request both understand (a function that predates shards refuses a
// sharded one: the field is unknown to it). The slot line follows the same rule, after the shard's.
func Canonical(timestamp, nonce, method, path string, b Body) string {
	if path == "" {
		path = "/"
	}
	lines := []string{
		signatureVersion, timestamp, nonce, strings.ToUpper(method), path,
		"deliver_only=" + strconv.FormatBool(b.DeliverOnly),
		"dry_run=" + strconv.FormatBool(b.DryRun),
		"evaluation_date=" + b.EvaluationDate,
		"job=" + b.Job,
		"scenarios=" + strings.Join(b.Scenarios, ","),
		"trigger=" + b.Trigger,
		"caller=" + b.Caller,
	}
	if b.Shard != "" {
		lines = append(lines, "shard="+b.Shard)
	}
	if b.Slot != "" {
		lines = append(lines, "slot="+b.Slot)
	}
	return strings.Join(lines, "\n")
}

// Sign signs a request sent at t with a fresh random nonce.
func Sign(secret string, t time.Time, method, path string, b Body) Signature {
	n := make([]byte, 16)
	_, _ = rand.Read(n)
	return SignWithNonce(secret, t, hex.EncodeToString(n), method, path, b)
}

// SignWithNonce signs a request sent at t with the given nonce (tests and tools that need a fixed one).
func SignWithNonce(secret string, t time.Time, nonce, method, path string, b Body) Signature {
	ts := strconv.FormatInt(t.Unix(), 10)
	return Signature{Timestamp: ts, Nonce: nonce, Value: mac(secret, Canonical(ts, nonce, method, path, b))}
}

func mac(secret, canonical string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(canonical))
	return signatureVersion + "=" + hex.EncodeToString(m.Sum(nil))
}

// checkForm checks what can be checked before the body is read: the three headers are well formed and
// the timestamp is inside the window around now. It returns the timestamp.
func (s Signature) checkForm(now time.Time) (time.Time, error) {
	if !s.Present() {
		return time.Time{}, ErrNoSignature
	}
	ts, ok := parseUnix(s.Timestamp)
	if !ok || !validNonce(s.Nonce) || !validSignatureValue(s.Value) {
		return time.Time{}, ErrBadSignature
	}
	t := time.Unix(ts, 0)
	if d := now.Sub(t); d > SignatureWindow || d < -SignatureWindow {
		return time.Time{}, ErrStale
	}
	return t, nil
}

// VerifySignature checks a signature against the request it came with (method, path as received, decoded
// body) and each non-empty secret (current and previous, for rotation) at time now. Every secret is tried,
// whatever the outcome of the others, and the comparison takes the same time for any signature. It does
// not check that the signature is new: that is the ReplayGuard's job.
func VerifySignature(s Signature, method, path string, b Body, now time.Time, secrets ...string) error {
	if _, err := s.checkForm(now); err != nil {
		return err
	}
	canonical := Canonical(s.Timestamp, s.Nonce, method, path, b)
	match := 0
	for _, k := range secrets {
		if k != "" {
			match |= equal(s.Value, mac(k, canonical))
		}
	}
	if match != 1 {
		return ErrBadSignature
	}
	return nil
}

// ReplayGuard accepts each signature once. adapters/postgres implements it with a table of used
// signatures (scheduler.claim_signature); functions/wire wires it.
type ReplayGuard interface {
	// ClaimSignature records signature as used until expires. It answers false when the signature was
	// already used.
	ClaimSignature(ctx context.Context, signature string, expires time.Time) (bool, error)
}

// parseUnix accepts only plain decimal seconds (no sign, no spaces, at most 12 digits).
func parseUnix(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 12 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// validNonce: 16 to 64 characters of 0-9, a-z and '-'.
func validNonce(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

// validSignatureValue: "v2=" and 64 lowercase hex digits.
func validSignatureValue(s string) bool {
	hexPart, ok := strings.CutPrefix(s, signatureVersion+"=")
	if !ok || len(hexPart) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(hexPart); i++ {
		if c := hexPart[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// equal compares two strings in time independent of their contents and of their lengths: it compares
// their SHA-256 digests (subtle.ConstantTimeCompare alone returns early on a length mismatch).
func equal(got, want string) int {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:])
}

// secretMatches compares a raw X-Scheduler-Secret header against each non-empty secret.
func secretMatches(got string, secrets ...string) bool {
	if got == "" {
		return false
	}
	match := 0
	for _, s := range secrets {
		if s != "" {
			match |= equal(got, s)
		}
	}
	return match == 1
}
