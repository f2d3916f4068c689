package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
)

// TestUnderEmulator invokes the bootstrap through the Runtime Interface Emulator's invoke API, as Lambda
// invokes it: a console "Test" event, and Function URL events with a good secret, a signature, a bad
// secret and no secret.
func TestUnderEmulator(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	seed(t, db, 3)
	e := startEmulator(t, db, 30)

	// The console's "Test" event: no headers, trusted because IAM authorised the invoke.
	rep := decode[report](t, e.invoke(t, []byte(`{}`)))
	if rep.Status != "completed" || rep.Trigger != "direct" || len(rep.Scenarios) == 0 {
		t.Fatalf("console event: %+v", rep)
	}
	// A bare request body as the console event.
	rep = decode[report](t, e.invoke(t, []byte(`{"dry_run":true}`)))
	if d := cmp.Diff([]any{"direct", true}, []any{rep.Trigger, rep.DryRun}); d != "" {
		t.Fatalf("console body: (-want +got)\n%s", d)
	}
	// A misspelt dry_run from the console is refused, naming the field it meant, and runs nothing.
	runs := countRuns(t, db)
	rep = decode[report](t, e.invoke(t, []byte(`{"dry-run":true}`)))
	if rep.Error == nil || rep.Error.Code != "invalid" || rep.Error.Message != `unknown field "dry-run": did you mean "dry_run"?` || rep.Status != "" {
		t.Fatalf("console misspelt dry_run: %+v", rep)
	}
	if n := countRuns(t, db); n != runs {
		t.Fatalf("the refused console event recorded %d runs", n-runs)
	}
	// A bad body from the console gets the contract's error body.
	rep = decode[report](t, e.invoke(t, []byte(`{"scenarios":["birthday"]}`)))
	if rep.Error == nil || rep.Error.Code != "invalid" {
		t.Fatalf("console bad body: %+v", rep)
	}

	sig := httpfn.Sign(secret, time.Now(), http.MethodPost, "/", httpfn.Body{DryRun: true, Trigger: "cron", Job: "scenario-scheduler-daily"})
	cases := []struct {
		name    string
		event   events.LambdaFunctionURLRequest
		status  int
		trigger string
		code    string
	}{
		{"good secret", urlEvent("POST", "/", map[string]string{"x-scheduler-secret": secret}, `{"dry_run":true}`), 200, "http", ""},
		{"signature", urlEvent("POST", "/", map[string]string{"x-scheduler-timestamp": sig.Timestamp, "x-scheduler-nonce": sig.Nonce, "x-scheduler-signature": sig.Value},
			`{"dry_run":true,"trigger":"cron","job":"scenario-scheduler-daily"}`), 200, "cron:scenario-scheduler-daily", ""},
		{"bad secret", urlEvent("POST", "/", map[string]string{"x-scheduler-secret": strings.Repeat("x", len(secret))}, `{}`), 401, "", "unauthorised"},
		{"no secret", urlEvent("POST", "/", nil, `{}`), 401, "", "unauthorised"},
		{"wrong method", urlEvent("GET", "/", map[string]string{"x-scheduler-secret": secret}, ``), 405, "", "method_not_allowed"},
		{"non-JSON", urlEvent("POST", "/", map[string]string{"x-scheduler-secret": secret, "content-type": "text/plain"}, `{}`), 415, "", "unsupported_media_type"},
	}
	for _, tc := range cases {
		res := decode[events.LambdaFunctionURLResponse](t, e.invoke(t, tc.event))
		body := decode[report](t, []byte(res.Body))
		code := ""
		if body.Error != nil {
			code = string(body.Error.Code)
		}
		got := []any{res.StatusCode, res.Headers["content-type"], body.Trigger, code}
		want := []any{tc.status, "application/json", tc.trigger, tc.code}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: (-want +got)\n%s\n%s", tc.name, d, res.Body)
		}
	}

	// The health path answers through the URL with configuration names only.
	res := decode[events.LambdaFunctionURLResponse](t, e.invoke(t, urlEvent("GET", "/healthz", nil, "")))
	health := decode[httpfn.Health](t, []byte(res.Body))
	if res.StatusCode != 200 || health.Config["SCHEDULER_SECRET"] != "set" || health.Config["SCHEDULER_SECRET_PREVIOUS"] != "unset" ||
		strings.Contains(res.Body, secret) {
		t.Errorf("healthz: %d %s", res.StatusCode, res.Body)
	}

	// Logs are Lambda JSON lines with the invocation's request id.
	found := false
	for _, line := range strings.Split(e.Out.String(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil || l["message"] != "run answered" {
			continue
		}
		found = true
		for _, k := range []string{"timestamp", "level", "message", "requestId"} {
			if s, _ := l[k].(string); s == "" {
				t.Errorf("log line without %s: %s", k, line)
			}
		}
	}
	if !found {
		t.Errorf("no JSON log line for an answered run in:\n%s", e.Out)
	}
}

// TestLambdaTimeout: with a 4 s Lambda timeout the run gets about 2 s (the deadline less the answering
// margin), which is not enough for the data: it ends partial, answered in time rather than killed, and
// the next invocations resume from the checkpoint. (On a busy machine the first batch may itself be cut,
// so progress is asked of the invocations together, not of the first.)
func TestLambdaTimeout(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	seed(t, db, mentorsForTimeout)
	e := startEmulator(t, db, 4)
	started := time.Now()
	rep := decode[report](t, e.invoke(t, []byte(`{"scenarios":["inactivity"]}`)))
	took := time.Since(started)
	if rep.Status != "partial" || rep.BudgetMS > 2000 || len(rep.Scenarios) != 1 || rep.Scenarios[0].Remaining == 0 {
		t.Fatalf("after %s: %+v", took, rep)
	}
	t.Logf("partial after %s: evaluated %d, remaining %d, budget %d ms",
		took, rep.Scenarios[0].Evaluated, rep.Scenarios[0].Remaining, rep.BudgetMS)
	// The next invocations resume from the checkpoint.
	for i := 0; ; i++ {
		next := decode[report](t, e.invoke(t, []byte(`{"scenarios":["inactivity"]}`)))
		if len(next.Scenarios) != 1 || next.BudgetMS > 2000 {
			t.Fatalf("invocation %d: %+v", i+2, next)
		}
		if next.Scenarios[0].Remaining < rep.Scenarios[0].Remaining && next.Scenarios[0].Remaining < mentorsForTimeout {
			return
		}
		if i == 5 {
			t.Fatalf("%d invocations did not progress: %+v", i+2, next)
		}
	}
}

// mentorsForTimeout is enough mentors that evaluating them takes longer than about 1 s here.
const mentorsForTimeout = 60_000

// countRuns is the number of runs recorded in the database.
func countRuns(t *testing.T, databaseURL string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `select count(*) from scheduler.runs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
