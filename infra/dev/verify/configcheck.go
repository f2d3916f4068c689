package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Sources of a configuration variable as the function reports them (functions/config: Sources).
var knownSources = []string{"environment", "default", "unset"}

// checkConfiguration is the checklist's fourth item: every configuration variable set, as the function
// reports it on invocation. A dry run's answer carries the function's report (configuration: each variable's
// name and where its value came from, never a value), which it also logs at every cold start; where the
// function's log is at hand (Target.Logs, the local stack), the cold-start line is read and compared too.
func checkConfiguration(ctx context.Context, t Target) Result {
	r := Result{ID: "4", Title: "every environment variable set, as the function logs it on invocation (names and sources, never values)"}
	if t.Secret == "" {
		return r.fail("no secret given (SCHEDULER_SECRET)")
	}
	status, body, err := post(ctx, t, `{"dry_run": true}`, map[string]string{"X-Scheduler-Secret": t.Secret})
	if err != nil {
		return r.fail("calling the function: %v", err)
	}
	var answer struct {
		Configuration map[string]string `json:"configuration"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &answer) != nil {
		r.Evidence = fmt.Sprintf("POST {\"dry_run\": true}\nHTTP %d\n%s", status, excerpt(body))
		return r.fail("the dry run answered HTTP %d without a JSON report", status)
	}
	cfg := answer.Configuration
	if cfg == nil {
		r.Evidence = fmt.Sprintf("POST {\"dry_run\": true}\nHTTP %d\n%s", status, excerpt(body))
		return r.fail("the dry run's answer has no configuration: the function is older than this checklist (redeploy it)")
	}
	var ev strings.Builder
	ev.WriteString("variable | source (the dry run's answer)\n")
	var leaked, missing, unset []string
	for _, name := range slices.Sorted(maps.Keys(cfg)) {
		src := cfg[name]
		if !slices.Contains(knownSources, src) {
			leaked = append(leaked, name)
			src = "[not a source: withheld from this report]"
		}
		fmt.Fprintf(&ev, "%s | %s\n", name, src)
		if cfg[name] == "unset" {
			unset = append(unset, name)
		}
	}
	for _, name := range t.Required {
		if cfg[name] != "environment" {
			missing = append(missing, name)
		}
	}
	logNote := "the function logs the same list at every cold start (message \"configuration\", field \"variables\"): " +
		"read it in the platform's logs (CloudWatch, Cloud Logging)"
	if t.Logs != nil {
		line, ok := coldStartLine(t.Logs())
		switch {
		case !ok:
			missing = append(missing, "(no cold-start configuration line in the function's log)")
		default:
			ev.WriteString("\nthe function's log at cold start:\n" + line + "\n")
			for name, src := range cfg {
				if !strings.Contains(line, name+"="+src) {
					missing = append(missing, fmt.Sprintf("(the cold-start log does not say %s=%s)", name, src))
				}
			}
			logNote = "the cold-start log line names the same sources"
		}
	}
	r.Evidence = ev.String()
	slices.Sort(missing)
	switch {
	case len(leaked) > 0:
		return r.fail("the answer shows something other than a source for %s", strings.Join(leaked, ", "))
	case len(missing) > 0:
		return r.fail("missing: %s", strings.Join(missing, ", "))
	}
	opt := "none"
	if len(unset) > 0 {
		opt = strings.Join(unset, ", ")
	}
	return r.pass("%d variables reported; the required ones (%s) set in the environment; unset, optional: %s; %s",
		len(cfg), strings.Join(t.Required, ", "), opt, logNote)
}

// coldStartLine finds the function's cold-start configuration line in its log (JSON or console encoding)
// and returns its variables field's text.
func coldStartLine(log string) (string, bool) {
	for line := range strings.Lines(log) {
		if !strings.Contains(line, "configuration") || !strings.Contains(line, "DATABASE_URL=") {
			continue
		}
		var entry struct {
			Msg       string `json:"msg"`
			Variables string `json:"variables"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "configuration" {
			return entry.Variables, true
		}
		if i := strings.Index(line, "DATABASE_URL="); i >= 0 {
			return strings.TrimSpace(line[i:]), true
		}
	}
	return "", false
}
