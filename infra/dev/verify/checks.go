package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
)

// report is the part of the function's JSON report the checks validate.
type report struct {
	RunID          string            `json:"run_id"`
	EvaluationDate string            `json:"evaluation_date"`
	Status         string            `json:"status"`
	Trigger        string            `json:"trigger"`
	DryRun         bool              `json:"dry_run"`
	Scenarios      []json.RawMessage `json:"scenarios"`
}

var (
	dateRE       = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	goodStatuses = []string{"completed", "already_completed", "busy", "partial"}
)

func checkAuthorisedCall(ctx context.Context, t Target) Result {
	r := Result{ID: "2", Title: "invoke the scheduler by hand with the correct secret: 200 with valid JSON (a dry run: nothing written or sent)"}
	if t.Secret == "" {
		return r.fail("no secret given (SCHEDULER_SECRET)")
	}
	before, watched := t.writes(ctx)
	r = callForReport(ctx, t, r, `{"dry_run": true}`, map[string]string{"X-Scheduler-Secret": t.Secret}, "http")
	return t.nothingWritten(ctx, r, before, watched, "notifications, pushes sent and checkpoints")
}

func checkSignedCall(ctx context.Context, t Target) Result {
	r := Result{ID: "12", Title: "a call signed as pg_cron signs it (X-Scheduler-Signature) answers 200 with a valid JSON report"}
	if t.Secret == "" {
		return r.fail("no secret given (SCHEDULER_SECRET)")
	}
	// Signed as scheduler.invoke() signs: v2 over the method, the URL's path and the body's meaning.
	path := "/"
	if u, err := url.Parse(t.FunctionURL); err == nil && u.EscapedPath() != "" {
		path = u.EscapedPath()
	}
	sig := httpfn.Sign(t.Secret, t.Now(), http.MethodPost, path, httpfn.Body{Trigger: "cron", Job: "verify", DryRun: true})
	headers := map[string]string{
		httpfn.TimestampHeader: sig.Timestamp,
		httpfn.NonceHeader:     sig.Nonce,
		httpfn.SignatureHeader: sig.Value,
	}
	return callForReport(ctx, t, r, `{"trigger": "cron", "job": "verify", "dry_run": true}`, headers, "cron:verify")
}

// callForReport POSTs body (a dry run) with headers and validates the report, which must name wantTrigger.
func callForReport(ctx context.Context, t Target, r Result, body string, headers map[string]string, wantTrigger string) Result {
	status, resp, err := post(ctx, t, body, headers)
	if err != nil {
		return r.fail("calling the function: %v", err)
	}
	r.Evidence = fmt.Sprintf("POST %s\nHTTP %d\n%s", body, status, excerpt(resp))
	if status != http.StatusOK {
		return r.fail("status %d, want 200", status)
	}
	var rep report
	if err := json.Unmarshal(resp, &rep); err != nil {
		return r.fail("the body is not a JSON report: %v", err)
	}
	var problems []string
	if rep.RunID == "" {
		problems = append(problems, "no run_id")
	}
	if !dateRE.MatchString(rep.EvaluationDate) {
		problems = append(problems, fmt.Sprintf("evaluation_date %q is not YYYY-MM-DD", rep.EvaluationDate))
	}
	if !slices.Contains(goodStatuses, rep.Status) {
		problems = append(problems, fmt.Sprintf("status %q, want one of %s", rep.Status, strings.Join(goodStatuses, ", ")))
	}
	if rep.Scenarios == nil {
		problems = append(problems, "no scenarios array")
	}
	if !rep.DryRun {
		problems = append(problems, "dry_run was not honoured")
	}
	if rep.Trigger != wantTrigger {
		problems = append(problems, fmt.Sprintf("trigger %q, want %q", rep.Trigger, wantTrigger))
	}
	if len(problems) > 0 {
		return r.fail("invalid report: %s", strings.Join(problems, "; "))
	}
	return r.pass("200, report %s for %s with status %s over %d scenarios (a dry run: no notifications written)",
		rep.RunID, rep.EvaluationDate, rep.Status, len(rep.Scenarios))
}

func checkNoSecret(ctx context.Context, t Target) Result {
	r := Result{ID: "3", Title: "invoke it without the secret: 401 (nothing written)"}
	before, watched := t.writes(ctx)
	status, body, err := post(ctx, t, `{"dry_run": true}`, nil)
	if err != nil {
		return r.fail("calling the function: %v", err)
	}
	r.Evidence = fmt.Sprintf("POST {\"dry_run\": true} without X-Scheduler-Secret\nHTTP %d\n%s", status, excerpt(body))
	if status != http.StatusUnauthorized {
		return r.fail("no secret: status %d, want 401", status)
	}
	r = r.pass("401 without the secret")
	return t.nothingWritten(ctx, r, before, watched, "runs, notifications and checkpoints")
}

func checkUnauthorised(ctx context.Context, t Target) Result {
	r := Result{ID: "13", Title: "a call with a wrong secret or with a stale signature answers 401"}
	var ev strings.Builder
	for _, c := range []struct {
		name    string
		headers map[string]string
	}{
		{"wrong secret", map[string]string{"X-Scheduler-Secret": "not-the-secret-" + strconv.FormatInt(t.Now().UnixNano(), 36)}},
		{"stale signature", map[string]string{"X-Scheduler-Timestamp": "1000000000", "X-Scheduler-Nonce": "0123456789abcdef", "X-Scheduler-Signature": "v2=00"}},
	} {
		status, body, err := post(ctx, t, `{"dry_run": true}`, c.headers)
		if err != nil {
			return r.fail("calling the function (%s): %v", c.name, err)
		}
		fmt.Fprintf(&ev, "%s: HTTP %d %s\n", c.name, status, excerpt(body))
		if status != http.StatusUnauthorized {
			r.Evidence = ev.String()
			return r.fail("%s: status %d, want 401", c.name, status)
		}
	}
	r.Evidence = ev.String()
	return r.pass("401 with a wrong secret and with a stale signature")
}

func checkHealth(ctx context.Context, t Target) Result {
	r := Result{ID: "14", Title: "the health endpoint names the configuration, set or unset, without values"}
	healthURL := t.HealthURL
	if healthURL == "" {
		u, err := url.JoinPath(t.FunctionURL, "healthz")
		if err != nil {
			return r.fail("function URL: %v", err)
		}
		healthURL = u
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, healthURL, nil)
	if err != nil {
		return r.fail("health URL: %v", err)
	}
	resp, err := t.Client.Do(req)
	if err != nil {
		return r.fail("calling the health endpoint: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	r.Evidence = fmt.Sprintf("GET %s → HTTP %d\n%s", postgres.RedactURL(healthURL), resp.StatusCode, excerpt(body))
	var health struct {
		Status string            `json:"status"`
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(body, &health); err != nil {
		return r.fail("the health answer is not JSON: %v", err)
	}
	if health.Config == nil {
		return r.fail("the health answer has no config object: the function does not say which variables are set")
	}
	var leaked, missing, unset []string
	shown := map[string]string{}
	for name, v := range health.Config {
		shown[name] = v
		switch v {
		case "set":
		case "unset":
			unset = append(unset, name)
			if slices.Contains(t.Required, name) {
				missing = append(missing, name)
			}
		default:
			leaked = append(leaked, name)
			shown[name] = "[a value, withheld from this report]"
		}
	}
	if len(leaked) > 0 {
		redacted, _ := json.Marshal(map[string]any{"status": health.Status, "config": shown})
		r.Evidence = fmt.Sprintf("GET %s → HTTP %d\n%s", postgres.RedactURL(healthURL), resp.StatusCode, redacted)
	}
	for _, name := range t.Required {
		if _, ok := health.Config[name]; !ok {
			missing = append(missing, name)
		}
	}
	slices.Sort(leaked)
	slices.Sort(missing)
	slices.Sort(unset)
	switch {
	case len(leaked) > 0:
		return r.fail("the health answer shows something other than set/unset for %s", strings.Join(leaked, ", "))
	case len(missing) > 0:
		return r.fail("required configuration missing: %s", strings.Join(missing, ", "))
	case resp.StatusCode != http.StatusOK:
		return r.fail("status %d, want 200", resp.StatusCode)
	}
	note := "none"
	if len(unset) > 0 {
		note = strings.Join(unset, ", ")
	}
	return r.pass("%d variables reported, the required ones (%s) set; optional unset: %s",
		len(health.Config), strings.Join(t.Required, ", "), note)
}

// post sends body to the function with Content-Type: application/json and headers.
func post(ctx context.Context, t Target, body string, headers map[string]string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.FunctionURL, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := t.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

func (r Result) pass(format string, args ...any) Result {
	r.Outcome, r.Detail = Pass, fmt.Sprintf(format, args...)
	return r
}

func (r Result) fail(format string, args ...any) Result {
	r.Outcome, r.Detail = Fail, fmt.Sprintf(format, args...)
	return r
}

// excerpt is the start of a response body (JSON compacted), for evidence.
func excerpt(b []byte) string {
	const max = 700
	var compact bytes.Buffer
	if json.Compact(&compact, b) == nil {
		b = compact.Bytes()
	}
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + " …"
	}
	return s
}

// scrub removes the secret and database passwords from text that goes into the report.
func scrub(s string, t Target) string {
	for _, raw := range []string{t.DatabaseURL, t.ScratchURL} {
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && p != "" {
				s = strings.ReplaceAll(s, p, "xxxxx")
			}
		}
	}
	if t.Secret != "" {
		s = strings.ReplaceAll(s, t.Secret, "[secret]")
	}
	return s
}
