package httpfn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"slices"
	"unicode/utf8"

	"github.com/peermentor/scenario-scheduler/engine"
)

// MaxBody is the largest request body accepted.
const MaxBody = 64 << 10

// Body is the JSON request body. Every field is optional; {} or an empty body means "today, every enabled
// scenario".
type Body struct {
	EvaluationDate string   `json:"evaluation_date"`
	Scenarios      []string `json:"scenarios"`
	DryRun         bool     `json:"dry_run"`
	// DeliverOnly sends pending notifications without evaluating (drains the push outbox).
	DeliverOnly bool `json:"deliver_only"`
	// Trigger names the caller's kind ("cron" on the cron path); Job the pg_cron job name. With a job the
	// run's trigger is "cron:<job>".
	Trigger string `json:"trigger"`
	Job     string `json:"job"`
}

// knownFields are decoded strictly; any other top-level field is ignored and named in a warning.
var knownFields = []string{"evaluation_date", "scenarios", "dry_run", "deliver_only", "trigger", "job"}

// Limits of the trigger and job names: short, printable, safe in logs and reports.
const (
	maxTriggerLen = 32
	maxJobLen     = 64
	maxWarnings   = 10
)

// CodeMediaType is the code of a body sent with a Content-Type other than JSON (answered 415).
const CodeMediaType engine.Code = "unsupported_media_type"

// Decode validates a request body and turns it into an engine request. contentType may be empty (curl
// without -H); otherwise it must be JSON (else an *engine.Error with Code CodeMediaType). Other errors are
// *engine.Error with Code Invalid and a message safe to show the caller. The request's Trigger is
// "cron:<job>" when the body names a job, the body's trigger when it names one, else empty.
func Decode(contentType string, body []byte) (engine.Request, error) {
	var req engine.Request
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || (mt != "application/json" && mt != "text/json") {
			return req, engine.Errorf(CodeMediaType, "Content-Type must be application/json")
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return req, nil
	}
	if !utf8.Valid(body) {
		return req, engine.Errorf(engine.Invalid, "body is not valid UTF-8")
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return req, engine.Errorf(engine.Invalid, "body must be a JSON object")
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) != 0 {
		return req, engine.Errorf(engine.Invalid, "body must hold one JSON object and nothing after it")
	}
	var b Body
	for name, raw := range fields {
		if !slices.Contains(knownFields, name) {
			req.Warnings = append(req.Warnings, fmt.Sprintf("unknown field %q ignored", truncate(name, 64)))
			continue
		}
		if err := decodeField(name, raw, &b); err != nil {
			return engine.Request{}, err
		}
	}
	slices.Sort(req.Warnings)
	if n := len(req.Warnings); n > maxWarnings {
		req.Warnings = append(req.Warnings[:maxWarnings], fmt.Sprintf("and %d more unknown fields ignored", n-maxWarnings))
	}
	if err := validateNames(b.Trigger, b.Job); err != nil {
		return engine.Request{}, err
	}
	req.EvaluationDate, req.Scenarios, req.DryRun, req.DeliverOnly = b.EvaluationDate, b.Scenarios, b.DryRun, b.DeliverOnly
	switch {
	case b.Job != "":
		req.Trigger = "cron:" + b.Job
	default:
		req.Trigger = b.Trigger
	}
	return req, nil
}

// decodeField decodes one known field, rejecting null and wrong types.
func decodeField(name string, raw json.RawMessage, b *Body) error {
	var target any
	want := ""
	switch name {
	case "evaluation_date":
		target, want = &b.EvaluationDate, "a string YYYY-MM-DD"
	case "scenarios":
		target, want = &b.Scenarios, "an array of scenario names"
	case "dry_run":
		target, want = &b.DryRun, "true or false"
	case "deliver_only":
		target, want = &b.DeliverOnly, "true or false"
	case "trigger":
		target, want = &b.Trigger, "a string"
	case "job":
		target, want = &b.Job, "a string"
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) || json.Unmarshal(raw, target) != nil {
		return engine.Errorf(engine.Invalid, "%s must be %s", name, want)
	}
	return nil
}

// validateNames checks the trigger and job names: a trigger is lowercase letters, digits, '-' and '_'
// (at most 32); a job also allows capitals and '.' (at most 64). "direct" is reserved for invocations a
// platform authorised, and a job implies the trigger "cron".
func validateNames(trigger, job string) error {
	if trigger != "" && !validName(trigger, maxTriggerLen, false) {
		return engine.Errorf(engine.Invalid, "trigger must be 1 to %d characters of a-z, 0-9, '-' and '_'", maxTriggerLen)
	}
	if trigger == engine.TriggerDirect {
		return engine.Errorf(engine.Invalid, "trigger %q is reserved for direct platform invocations", trigger)
	}
	if job == "" {
		return nil
	}
	if !validName(job, maxJobLen, true) {
		return engine.Errorf(engine.Invalid, "job must be 1 to %d characters of A-Z, a-z, 0-9, '.', '-' and '_'", maxJobLen)
	}
	if trigger != "" && trigger != "cron" {
		return engine.Errorf(engine.Invalid, "job is only valid with trigger \"cron\"")
	}
	return nil
}

func validName(s string, maxLen int, job bool) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case job && (c >= 'A' && c <= 'Z' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// truncate shortens s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
