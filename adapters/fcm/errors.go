package fcm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/peermentor/scenario-scheduler/engine"
)

// failure is one failed request: the error the engine sees, and whether (and when) to retry at once.
type failure struct {
	err        *engine.SendError
	retryNow   bool
	retryAfter time.Duration
}

// apiError is the v1 error body.
type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type            string `json:"@type"`
			ErrorCode       string `json:"errorCode"`
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"fieldViolations"`
		} `json:"details"`
	} `json:"error"`
}

// code is the most specific error code: FCM's errorCode detail, else the canonical status.
func (e apiError) code() string {
	for _, d := range e.Error.Details {
		if d.ErrorCode != "" {
			return d.ErrorCode
		}
	}
	return e.Error.Status
}

// tokenRelated says whether an INVALID_ARGUMENT is about the registration token (and not the message).
func (e apiError) tokenRelated() bool {
	for _, d := range e.Error.Details {
		for _, v := range d.FieldViolations {
			if v.Field == "message.token" {
				return true
			}
		}
	}
	return strings.Contains(strings.ToLower(e.Error.Message), "registration token")
}

// answerFailure classifies an FCM error answer.
func answerFailure(resp *http.Response, body []byte) *failure {
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	code := ae.code()
	msg := ae.Error.Message
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	err := fmt.Errorf("HTTP %d %s: %s", resp.StatusCode, code, msg)
	se := func(class string, tokenInvalid, temporary bool) *engine.SendError {
		return &engine.SendError{Class: class, TokenInvalid: tokenInvalid, Temporary: temporary, Err: err}
	}
	// credentials: the sender itself is refused (wrong service account or project); never the token's fault.
	credentials := func(class string) *failure {
		return &failure{err: &engine.SendError{Class: class, Temporary: true, Credentials: true, Err: err}}
	}
	after, hasAfter := retryAfter(resp.Header.Get("Retry-After"))
	switch {
	case code == "UNREGISTERED":
		return &failure{err: se("unregistered", true, false)}
	case code == "SENDER_ID_MISMATCH":
		// The token belongs to another sender than this service account's project. Google's Admin SDK
		// treats it as a credential error: with a wrong FCM_PROJECT_ID or key every token answers it, and
		// disabling them would wipe every device.
		return credentials("sender_id_mismatch")
	case code == "INVALID_ARGUMENT" && ae.tokenRelated():
		return &failure{err: se("invalid_token", true, false)}
	case code == "INVALID_ARGUMENT":
		return &failure{err: se("invalid_argument", false, false)}
	case resp.StatusCode == http.StatusTooManyRequests || code == "QUOTA_EXCEEDED" || ae.Error.Status == "RESOURCE_EXHAUSTED":
		// Without Retry-After, no quick retry: the quota is the project's, and the engine stops the pass
		// and backs the notification off (exponentially, with jitter).
		f := se("rate_limited", false, true)
		f.Throttled = true
		return &failure{err: f, retryNow: hasAfter, retryAfter: after}
	case resp.StatusCode == http.StatusServiceUnavailable || code == "UNAVAILABLE":
		return &failure{err: se("unavailable", false, true), retryNow: true, retryAfter: after}
	case resp.StatusCode == http.StatusInternalServerError || code == "INTERNAL":
		return &failure{err: se("internal", false, true), retryNow: true, retryAfter: after}
	case code == "THIRD_PARTY_AUTH_ERROR":
		// The APNs or web-push credentials in the Firebase project: a configuration problem, fixable.
		return &failure{err: se("third_party_auth", false, true)}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return credentials("auth")
	case resp.StatusCode == http.StatusNotFound:
		// A 404 without UNREGISTERED is a wrong project or endpoint, never a reason to drop tokens.
		return credentials("not_found")
	case resp.StatusCode >= 500:
		return &failure{err: se("http_"+strconv.Itoa(resp.StatusCode), false, true), retryNow: true, retryAfter: after}
	default:
		return &failure{err: se("http_"+strconv.Itoa(resp.StatusCode), false, false)}
	}
}

// transportFailure classifies a request that got no answer.
func transportFailure(rctx context.Context, err error) *failure {
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re):
		// The token endpoint refused: the service account is wrong or revoked. Not retried now.
		return &failure{err: &engine.SendError{Class: "auth", Temporary: true, Credentials: true, Err: err}}
	case rctx.Err() != nil:
		return &failure{err: &engine.SendError{Class: "timeout", Temporary: true, Err: err}, retryNow: true}
	default:
		return &failure{err: &engine.SendError{Class: "network", Temporary: true, Err: err}, retryNow: true}
	}
}

// retryAfter reads a Retry-After header: seconds or an HTTP date; ok is false when it is absent or
// unreadable.
func retryAfter(v string) (d time.Duration, ok bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}
