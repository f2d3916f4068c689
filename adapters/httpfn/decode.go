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
}

// knownFields are decoded strictly; any other top-level field is ignored and named in a warning.
var knownFields = []string{"evaluation_date", "scenarios", "dry_run"}

// Decode validates a request body and turns it into an engine request. contentType may be empty (curl
// without -H); otherwise it must be JSON. Errors are *engine.Error with Code Invalid and a message safe to
// show the caller.
func Decode(contentType string, body []byte) (engine.Request, error) {
	var req engine.Request
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || (mt != "application/json" && mt != "text/json") {
			return req, engine.Errorf(engine.Invalid, "Content-Type must be application/json")
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
	if dec.More() {
		return req, engine.Errorf(engine.Invalid, "body must hold one JSON object and nothing after it")
	}
	var b Body
	for name, raw := range fields {
		if !slices.Contains(knownFields, name) {
			req.Warnings = append(req.Warnings, fmt.Sprintf("unknown field %q ignored", name))
			continue
		}
		if err := decodeField(name, raw, &b); err != nil {
			return engine.Request{}, err
		}
	}
	slices.Sort(req.Warnings)
	req.EvaluationDate, req.Scenarios, req.DryRun = b.EvaluationDate, b.Scenarios, b.DryRun
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
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) || json.Unmarshal(raw, target) != nil {
		return engine.Errorf(engine.Invalid, "%s must be %s", name, want)
	}
	return nil
}
