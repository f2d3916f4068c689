package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sender is the engine's port to a push service (Firebase Cloud Messaging, or a sender that only logs).
// Send delivers one message to one device and must return by ctx's deadline: it may retry inside, but never
// past it. Implementations are safe for concurrent use; the engine calls Send from several goroutines.
type Sender interface {
	Send(ctx context.Context, m Message) (Result, error)
}

// Message is one push to one device.
type Message struct {
	// NotificationID is the outbox row the push belongs to.
	NotificationID int64
	Scenario       string
	// Token is the device's push token.
	Token       string
	Title, Body string
	// Data is passed to the app with the push (the notification's id and scenario).
	Data map[string]string
	// CollapseKey is the same for every attempt of one notification, so that a push repeated after a crash
	// replaces the first on the device instead of showing twice.
	CollapseKey string
	// TTL is how long the push keeps its point: until the end of the recipient's local day. The push
	// service drops it if the device is not reached by then. Zero: the service's default.
	TTL time.Duration
}

// Result is a successful send.
type Result struct {
	// Attempts is the number of requests made (1 without retries). Zero with an error means nothing was
	// sent because the deadline came first.
	Attempts int
	// ID is the push service's id for the message.
	ID string
}

// SendError is a failed send, classified. A sender returns it (possibly wrapped) for every failure it
// understands; any other error is treated as temporary.
type SendError struct {
	// Class is a short stable name recorded with the notification: unregistered, invalid_argument,
	// rate_limited, unavailable, internal, timeout, network, auth, ...
	Class string
	// TokenInvalid: the device token is dead (unregistered, malformed, another project's). It is disabled
	// and never retried.
	TokenInvalid bool
	// Temporary: a later attempt may succeed; the notification stays pending.
	Temporary bool
	// Credentials: the push service refused the sender itself (SENDER_ID_MISMATCH, 401, 403, an unknown
	// project): no push can succeed until the configuration is fixed. The engine stops the pass at once,
	// logs an ERROR, and touches no device token.
	Credentials bool
	// Throttled: the push service's quota is exhausted (429, RESOURCE_EXHAUSTED). The engine stops the pass
	// and the notification backs off.
	Throttled bool
	// Attempts made before giving up.
	Attempts int
	Err      error
}

func (e *SendError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("push %s: %v", e.Class, e.Err)
	}
	return "push " + e.Class
}

func (e *SendError) Unwrap() error { return e.Err }

// DeliveryStore is the outbox side of the Store port: the Postgres adapter implements both. Each method is
// one statement. A statement the database cut (a terminated backend, a restarted server) fails with an
// *Error of Code Unavailable, and the engine tries it again: the next try must run on a fresh connection,
// not on another that broke with the first.
type DeliveryStore interface {
	// PushTemplates lists the template overrides of the scenario configuration.
	PushTemplates(ctx context.Context) ([]TemplateOverride, error)
	// ClaimDeliveries applies the delivery policy to the outbox of up to c.Limit mentors and leases the rows
	// to send; it returns every row it decided on.
	ClaimDeliveries(ctx context.Context, c DeliveryClaim) ([]Delivery, error)
	// RecordDeliveries stores outcomes for rows the run still holds and disables dead tokens; it returns the
	// number of rows recorded. Recording the same outcomes again changes nothing (a recorded row is no longer
	// held), so a try whose answer was lost may be repeated.
	RecordDeliveries(ctx context.Context, runID string, outcomes []DeliveryOutcome, disableTokens []string) (int, error)
	// DeliveryBacklog counts pending rows deliverable at now, and pending rows waiting (quiet hours, retry
	// backoff, in flight).
	DeliveryBacklog(ctx context.Context, now time.Time) (deliverable, waiting int64, err error)
}

// TemplateOverride is one push template from the scenario configuration. OrganisationID "" is the
// project-wide override of the built-in template.
type TemplateOverride struct {
	OrganisationID, Scenario, Locale, Title, Body string
}

// DeliveryClaim asks for the next outbox batch.
type DeliveryClaim struct {
	RunID string
	// Now is the policy clock: the mentors' local day and quiet hours.
	Now time.Time
	// Today is the engine's date (Options.Location): notifications of earlier evaluation dates are always
	// deliverable, those of today and later once every enabled scenario is evaluated for their date.
	Today time.Time
	// Limit is the number of mentors.
	Limit int
	// Lease is how long claimed rows stay reserved for this run.
	Lease time.Duration
	// MaxAttempts: a row claimed this often without an outcome is failed as abandoned.
	MaxAttempts int
}

// Disposition is what the delivery policy decided for a claimed outbox row.
type Disposition string

// Dispositions of claimed outbox rows.
const (
	// DispositionSend: leased to this run; send it and record the outcome.
	DispositionSend Disposition = "send"
	// DispositionHeld: quiet hours; pending until the window ends.
	DispositionHeld Disposition = "held"
	// DispositionSuppressed: no push (Reason says why); the notification stays in-app.
	DispositionSuppressed Disposition = "suppressed"
	// DispositionFailed: given up (Reason "abandoned": claimed too often without a recorded outcome).
	DispositionFailed Disposition = "failed"
)

// Suppression reasons.
const (
	ReasonDailyCap = "daily_cap"
	ReasonNoDevice = "no_device"
	ReasonExpired  = "expired"
)

// Delivery is one outbox row as claimed.
type Delivery struct {
	NotificationID int64
	Disposition    Disposition
	Reason         string
	UserID         string
	OrganisationID string
	Scenario       string
	Locale         string
	FullName       string
	// Data is the notification's facts (JSON object).
	Data []byte
	// Tokens are the mentor's active device tokens (rows to send only).
	Tokens []string
	// Attempts counts this claim.
	Attempts int
	// PushUntil is the end of the mentor's local day (rows to send only): the push's time to live.
	PushUntil time.Time
}

// Outcome is what became of a row this run sent (or meant to send).
type Outcome string

// Outcomes recorded for sent rows.
const (
	// OutcomeSent: delivered to at least one device.
	OutcomeSent Outcome = "sent"
	// OutcomeFailed: failed for good.
	OutcomeFailed Outcome = "failed"
	// OutcomeRetry: a temporary failure; pending again from RetryAt.
	OutcomeRetry Outcome = "retry"
	// OutcomeRelease: never attempted (or stopped by a fault that is not the row's); pending again, the
	// attempt not counted.
	OutcomeRelease Outcome = "release"
)

// DeliveryOutcome is what became of one claimed row.
type DeliveryOutcome struct {
	NotificationID int64
	Outcome        Outcome
	ErrorClass     string
	RetryAt        time.Time
}

// classifySend turns a Send error into a SendError; attempted says whether anything was sent at all.
func classifySend(res Result, err error) (se *SendError, attempted bool) {
	if errors.As(err, &se) {
		// A permanent error counts as attempted even before any request: retrying it could not help.
		return se, se.Attempts > 0 || res.Attempts > 0 || !se.Temporary
	}
	if res.Attempts == 0 && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return &SendError{Class: "timeout", Temporary: true, Err: err}, false
	}
	return &SendError{Class: "error", Temporary: true, Err: err}, true
}
