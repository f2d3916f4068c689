package engine

import (
	"errors"
	"fmt"
)

// Code classifies an error for callers; adapters map each Code to a response in one table.
type Code string

// Error codes.
const (
	// Invalid: the request is wrong (bad date, unknown scenario); nothing was written.
	Invalid Code = "invalid"
	// Unavailable: the database cannot be reached now; retrying later may succeed.
	Unavailable Code = "unavailable"
	// Conflict: another run took over the work (a checkpoint lease was lost).
	Conflict Code = "conflict"
	// SourceContract: the app's data, read through the source contract (docs/source-contract.md), is not
	// usable: a view is missing, a column has the wrong type, or no mentor is active. Its message names the
	// problem (never a value) and is shown to callers; the run is recorded as failed.
	SourceContract Code = "source_contract"
	// Internal: anything else. Its message is not shown to callers.
	Internal Code = "internal"
)

// Error is the engine's one error type. Message is safe to show to a caller for Invalid; for other codes
// adapters show a generic text and log Err.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the Code of err: the code of the first *Error in its chain, Internal otherwise.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ErrorMessage returns the caller-safe message of err's first *Error, or "" when there is none.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}
