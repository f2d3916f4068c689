package httpfn

import (
	"bytes"
	"encoding/json"
	"mime"
	"slices"
	"strings"
	"unicode"
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
	// Trigger names the caller's kind ("cron" on the cron path, "manual" for a call made by hand in the
	// database); Job the pg_cron job name (trigger "cron" only); Caller the database role of a manual call
	// (trigger "manual" only). The run's trigger is "cron:<job>", "manual:<caller>" or the trigger.
	Trigger string `json:"trigger"`
	Job     string `json:"job"`
	Caller  string `json:"caller"`
	// Shard limits the run to one key range of mentors, "k/N" (engine.ParseShard); empty: every mentor.
	// scheduler.invoke(..., shards => N) sends N requests, "1/N" to "N/N".
	Shard string `json:"shard"`
	// Slot limits the run to the organisations of one time zone and send hour, "<zone>@<HH>"
	// (engine.ParseSlot), dated in that zone; empty: every organisation. The hourly job
	// (scheduler.invoke_due_slots) sends one request per due slot, with the slot's local date.
	Slot string `json:"slot"`
}

// knownFields are the body's fields, in the order an unknown field's error lists them. Any other top-level
// field is refused on every call, signed or not: ignored, a misspelt option ("dry-run") would turn a dry
// run into a real one.
var knownFields = []string{"evaluation_date", "scenarios", "dry_run", "deliver_only", "trigger", "job", "caller", "shard", "slot"}

// Limits of the names a body carries: short, printable, safe in logs and reports.
const (
	maxTriggerLen  = 32
	maxJobLen      = 64
	maxCallerLen   = 64
	maxScenarioLen = 64
	// maxEcho is the most of the caller's input an error message or a log line repeats.
	maxEcho = 32
)

// TriggerManual is the trigger of a call made by hand in the database (select scheduler.invoke()).
const TriggerManual = "manual"

// CodeMediaType is the code of a body sent with a Content-Type other than JSON (answered 415).
const CodeMediaType engine.Code = "unsupported_media_type"

// Decode validates a request body and turns it into an engine request. contentType may be empty (curl
// without -H); otherwise it must be JSON (else an *engine.Error with Code CodeMediaType). The body is
// decoded strictly: a top-level field that is not in Body, a key that matches a field only ignoring case
// and a duplicate key at any depth are refused, like a known field of the wrong type. Other errors are
// *engine.Error with Code Invalid and a message safe to show the caller, which repeats at most a short
// excerpt of the input and, for an unknown field, names the nearest known one.
func Decode(contentType string, body []byte) (engine.Request, error) {
	b, err := decode(contentType, body)
	if err != nil {
		return engine.Request{}, err
	}
	return b.Request(), nil
}

// DecodeSigned validates the body of a signed call with Decode's rules and returns its fields, which the
// signature's canonical form (Canonical) is computed from.
func DecodeSigned(contentType string, body []byte) (Body, error) {
	return decode(contentType, body)
}

// Request is the engine request the body asks for.
func (b Body) Request() engine.Request {
	req := engine.Request{EvaluationDate: b.EvaluationDate, Scenarios: b.Scenarios, DryRun: b.DryRun,
		DeliverOnly: b.DeliverOnly, Trigger: b.Trigger}
	// validateBody has checked the form; an empty shard is every mentor.
	req.Shard, _ = engine.ParseShard(b.Shard)
	req.Slot, _ = engine.ParseSlot(b.Slot)
	switch {
	case b.Job != "":
		req.Trigger = "cron:" + b.Job
	case b.Caller != "":
		req.Trigger = TriggerManual + ":" + b.Caller
	}
	return req
}

func decode(contentType string, body []byte) (Body, error) {
	var b Body
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || (mt != "application/json" && mt != "text/json") {
			return b, engine.Errorf(CodeMediaType, "Content-Type must be application/json")
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return b, nil
	}
	if !utf8.Valid(body) {
		return b, engine.Errorf(engine.Invalid, "body is not valid UTF-8")
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return b, engine.Errorf(engine.Invalid, "body must be a JSON object")
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) != 0 {
		return b, engine.Errorf(engine.Invalid, "body must hold one JSON object and nothing after it")
	}
	names, err := checkKeys(body)
	if err != nil {
		return b, err
	}
	// Every name first, in the body's order, so that a body with a misspelt field is refused for it
	// whatever else is wrong, and always for the same one.
	for _, name := range names {
		if !slices.Contains(knownFields, name) {
			return b, unknownField(name)
		}
	}
	for _, name := range names {
		if err := decodeField(name, fields[name], &b); err != nil {
			return b, err
		}
	}
	if err := validateBody(b); err != nil {
		return Body{}, err
	}
	return b, nil
}

// unknownField is the error for a top-level key that is not a field of Body. It names the key and the
// field it was most likely meant to be: the one it matches ignoring case, or the nearest by edit distance
// when that is close (nearestField); otherwise it lists the fields.
func unknownField(name string) error {
	for _, k := range knownFields {
		if strings.EqualFold(name, k) {
			return engine.Errorf(engine.Invalid, "field %q is not %q: field names are lower case", excerpt(name), k)
		}
	}
	if k, ok := nearestField(name); ok {
		return engine.Errorf(engine.Invalid, "unknown field %q: did you mean %q?", excerpt(name), k)
	}
	return engine.Errorf(engine.Invalid, "unknown field %q: the fields are %s", excerpt(name), strings.Join(knownFields, ", "))
}

// nearestField is the known field closest to name, if one is close: the edit distance (Levenshtein, over
// bytes) between name in lower case with '-', '.' and ' ' read as '_', and the field, or between the two
// without their underscores (dryRun, DeliverOnly), is at most a third of the field's length (and at least
// 1). "dry-run", "dryRun" and "dry_runn" are dry_run; "note" is none.
func nearestField(name string) (string, bool) {
	norm := strings.Map(func(r rune) rune {
		switch r {
		case '-', '.', ' ':
			return '_'
		}
		return unicode.ToLower(r)
	}, name)
	bare := strings.ReplaceAll(norm, "_", "")
	best, bestDist := "", -1
	for _, k := range knownFields {
		limit := max(1, len(k)/3)
		d := min(editDistance(norm, k, limit), editDistance(bare, strings.ReplaceAll(k, "_", ""), limit))
		if d <= limit && (bestDist < 0 || d < bestDist) {
			best, bestDist = k, d
		}
	}
	return best, bestDist >= 0
}

// editDistance is the Levenshtein distance between a and b over bytes, or limit+1 when it is larger than
// limit (their lengths alone tell, so a long key costs nothing).
func editDistance(a, b string, limit int) int {
	if len(a)-len(b) > limit || len(b)-len(a) > limit {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checkKeys refuses a body in which any object, at any depth, repeats a key: encoding/json would keep
// the last one, so {"dry_run":true,"dry_run":false} would be a real run that reads like a dry one. It
// returns the keys of the body's (top-level) object in their order.
func checkKeys(body []byte) ([]string, error) {
	type frame struct {
		keys      map[string]bool // nil in an array
		expectKey bool
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []*frame
	var names []string
	for {
		tok, err := dec.Token()
		if err != nil {
			return names, nil // the body was already checked to be one JSON object: this is its end
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.keys != nil && top.expectKey {
			key, _ := tok.(string)
			if top.keys[key] {
				return nil, engine.Errorf(engine.Invalid, "duplicate key %q in the body", excerpt(key))
			}
			top.keys[key] = true
			top.expectKey = false
			if len(stack) == 1 {
				names = append(names, key)
			}
			continue
		}
		// A value: the next token of an enclosing object is a key again.
		if top != nil && top.keys != nil {
			top.expectKey = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, expectKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		}
	}
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
	case "caller":
		target, want = &b.Caller, "a string"
	case "shard":
		target, want = &b.Shard, `a string "k/N"`
	case "slot":
		target, want = &b.Slot, `a string "<time zone>@<HH>"`
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) || json.Unmarshal(raw, target) != nil {
		return engine.Errorf(engine.Invalid, "%s must be %s", name, want)
	}
	if name == "shard" {
		// Present means a shard: "" is refused like any other malformed one.
		_, err := engine.ParseShard(b.Shard)
		return err
	}
	if name == "slot" {
		// Present means a slot: "" is refused, and so is a time zone the function does not know.
		_, err := engine.ParseSlot(b.Slot)
		return err
	}
	return nil
}

// validateBody checks the form of every field, so that what reaches the engine, the signature's canonical
// form and the logs is short and unambiguous: a date is YYYY-MM-DD (the engine checks it is a real date in
// the allowed window), a shard is "k/N" as engine.ParseShard reads it, a scenario name is 1 to 64 of a-z, 0-9 and '_' (no ',', which joins them in the
// canonical form), and the trigger, job and caller follow validateNames.
func validateBody(b Body) error {
	if b.EvaluationDate != "" && !dateForm(b.EvaluationDate) {
		return engine.Errorf(engine.Invalid, "evaluation_date must be a date as YYYY-MM-DD, got %q", excerpt(b.EvaluationDate))
	}
	for _, s := range b.Scenarios {
		if !validName(s, maxScenarioLen, false) || strings.Contains(s, "-") {
			return engine.Errorf(engine.Invalid, "scenarios: %q is not a scenario name (a-z, 0-9 and '_')", excerpt(s))
		}
	}
	if b.Shard != "" && b.DeliverOnly {
		return engine.Errorf(engine.Invalid, "shard is only valid for an evaluation, not with deliver_only")
	}
	if b.Slot != "" && b.DeliverOnly {
		return engine.Errorf(engine.Invalid, "slot is only valid for an evaluation, not with deliver_only")
	}
	return validateNames(b.Trigger, b.Job, b.Caller)
}

// dateForm: exactly dddd-dd-dd.
func dateForm(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 4 || i == 7 {
			if s[i] != '-' {
				return false
			}
		} else if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validateNames checks the trigger, job and caller names: a trigger is lowercase letters, digits, '-' and
// '_' (at most 32); a job and a caller also allow capitals and '.' (at most 64). "direct" is reserved for
// invocations a platform authorised, a job implies the trigger "cron" and a caller the trigger "manual".
func validateNames(trigger, job, caller string) error {
	if trigger != "" && !validName(trigger, maxTriggerLen, false) {
		return engine.Errorf(engine.Invalid, "trigger must be 1 to %d characters of a-z, 0-9, '-' and '_'", maxTriggerLen)
	}
	if trigger == engine.TriggerDirect {
		return engine.Errorf(engine.Invalid, "trigger %q is reserved for direct platform invocations", trigger)
	}
	if job != "" {
		if !validName(job, maxJobLen, true) {
			return engine.Errorf(engine.Invalid, "job must be 1 to %d characters of A-Z, a-z, 0-9, '.', '-' and '_'", maxJobLen)
		}
		if trigger != "" && trigger != "cron" {
			return engine.Errorf(engine.Invalid, "job is only valid with trigger \"cron\"")
		}
	}
	if caller != "" {
		if !validName(caller, maxCallerLen, true) {
			return engine.Errorf(engine.Invalid, "caller must be 1 to %d characters of A-Z, a-z, 0-9, '.', '-' and '_'", maxCallerLen)
		}
		if trigger != TriggerManual || job != "" {
			return engine.Errorf(engine.Invalid, "caller is only valid with trigger %q and no job", TriggerManual)
		}
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

// excerpt is at most maxEcho bytes of the caller's input, for messages and logs.
func excerpt(s string) string { return truncate(s, maxEcho) }

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
