package httpfn

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
)

// Headers of a signed invocation (the cron path): no raw secret waits in pg_net's queue, only a signature
// that expires.
const (
	TimestampHeader = "X-Scheduler-Timestamp"
	SignatureHeader = "X-Scheduler-Signature"
)

// SignatureWindow is how far a signed timestamp may be from the receiver's clock, either way.
const SignatureWindow = 300 * time.Second

// signaturePrefix is the scheme version in the signature header and in the signed message.
const signaturePrefix = "v1"

// Why a signature was refused.
var (
	ErrNoSignature  = errors.New("no signature")
	ErrStale        = errors.New("timestamp outside the allowed window")
	ErrBadSignature = errors.New("wrong signature")
)

// Sign returns the two header values that authenticate a request sent at t:
// X-Scheduler-Timestamp (unix seconds) and X-Scheduler-Signature ("v1=" and the lowercase hex
// HMAC-SHA256 of "v1:<timestamp>" keyed with secret). The database's scheduler.invoke() computes the same
// with pgcrypto's hmac().
func Sign(secret string, t time.Time) (timestamp, signature string) {
	timestamp = strconv.FormatInt(t.Unix(), 10)
	return timestamp, signaturePrefix + "=" + mac(secret, timestamp)
}

func mac(secret, timestamp string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(signaturePrefix + ":" + timestamp))
	return hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a timestamp and signature header pair against each non-empty secret (current and
// previous, for rotation) at time now. Every secret is tried, whatever the outcome of the others, and the
// comparison takes the same time for any signature of any length.
func VerifySignature(timestamp, signature string, now time.Time, secrets ...string) error {
	if timestamp == "" && signature == "" {
		return ErrNoSignature
	}
	ts, ok := parseUnix(timestamp)
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > SignatureWindow || d < -SignatureWindow {
		return ErrStale
	}
	match := 0
	for _, s := range secrets {
		if s != "" {
			match |= equal(signature, signaturePrefix+"="+mac(s, timestamp))
		}
	}
	if match != 1 {
		return ErrBadSignature
	}
	return nil
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
