package lambda_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/lambda"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/dev/proctest"
)

const secret = "lambda-unit-secret-0123456789abcd"

// echoRunner reports the request it was given, so that the translation can be checked end to end
// through the real handler. (The emulator tests in functions/scenario-scheduler/lambda run the engine.)
type echoRunner struct{}

func (echoRunner) Run(_ context.Context, req engine.Request) (engine.Report, error) {
	return engine.Report{Status: engine.Completed, Trigger: req.Trigger, DryRun: req.DryRun,
		EvaluationDate: req.EvaluationDate}, nil
}

func invoke(t *testing.T, h *lambda.Handler, ctx context.Context, payload any) []byte {
	t.Helper()
	b, ok := payload.([]byte)
	if !ok {
		b, _ = json.Marshal(payload)
	}
	out, err := h.Invoke(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFunctionURLTranslation(t *testing.T) {
	h := lambda.New(httpfn.New(echoRunner{}, httpfn.Config{Secret: secret}))
	ev := func(body string, b64 bool, headers map[string]string) events.LambdaFunctionURLRequest {
		if b64 {
			body = base64.StdEncoding.EncodeToString([]byte(body))
		}
		return events.LambdaFunctionURLRequest{Version: "2.0", RawPath: "/", Headers: headers, Body: body, IsBase64Encoded: b64,
			Cookies:        []string{"a=1", "b=2"},
			RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"}}}
	}
	auth := map[string]string{"x-scheduler-secret": secret, "content-type": "application/json"}
	cases := []struct {
		name    string
		event   events.LambdaFunctionURLRequest
		status  int
		dryRun  bool
		trigger string
	}{
		{"base64 body", ev(`{"dry_run":true}`, true, auth), 200, true, "http"},
		{"plain body", ev(`{"dry_run":true,"job":"daily"}`, false, auth), 200, true, "cron:daily"},
		{"invalid base64", ev(`%%%`, false, auth), 400, false, ""},
		{"no secret", ev(`{}`, true, map[string]string{"content-type": "application/json"}), 401, false, ""},
		{"misspelt dry_run", ev(`{"dry-run":true}`, true, auth), 400, false, ""},
		{"unknown field", ev(`{"dry_run":true,"note":"x"}`, false, auth), 400, false, ""},
	}
	cases[2].event.IsBase64Encoded = true
	for _, tc := range cases {
		var res events.LambdaFunctionURLResponse
		if err := json.Unmarshal(invoke(t, h, context.Background(), tc.event), &res); err != nil {
			t.Fatal(err)
		}
		var rep engine.Report
		_ = json.Unmarshal([]byte(res.Body), &rep)
		got := []any{res.StatusCode, res.Headers["content-type"], rep.DryRun, rep.Trigger}
		if d := cmp.Diff([]any{tc.status, "application/json", tc.dryRun, tc.trigger}, got); d != "" {
			t.Errorf("%s: (-want +got)\n%s\n%s", tc.name, d, res.Body)
		}
	}
}

// TestDirectInvocations: anything that is not a Function URL event is trusted and says so, and its body is
// decoded as strictly as an HTTP request's: an unknown field (the console's sample event, a misspelt
// dry_run, a Function URL event without its requestContext) is refused and the engine is not called.
func TestDirectInvocations(t *testing.T) {
	h := lambda.New(httpfn.New(echoRunner{}, httpfn.Config{Secret: secret}))
	cases := []struct {
		name, payload, trigger, code string
	}{
		{"console {}", `{}`, "direct", ""},
		{"empty payload", ``, "direct", ""},
		{"a body with a job: still direct", `{"job":"daily","dry_run":true}`, "direct", ""},
		{"version 2.0 without requestContext", `{"version":"2.0"}`, "", "invalid"},
		{"misspelt dry_run", `{"dry-run":true}`, "", "invalid"},
		{"dryRun", `{"dryRun":true}`, "", "invalid"},
		{"dry_runn", `{"dry_runn":true}`, "", "invalid"},
		{"DRY_RUN", `{"DRY_RUN":true}`, "", "invalid"},
		{"the console's sample event", `{"key1":"value1","key2":"value2","key3":"value3"}`, "", "invalid"},
		{"array", `[]`, "", "invalid"},
		{"too large", `{"x":"` + strings.Repeat("x", httpfn.MaxBody) + `"}`, "", "body_too_large"},
	}
	for _, tc := range cases {
		var out struct {
			Trigger string              `json:"trigger"`
			Error   *httpfn.ErrorDetail `json:"error"`
		}
		if err := json.Unmarshal(invoke(t, h, context.Background(), []byte(tc.payload)), &out); err != nil {
			t.Fatal(err)
		}
		code := ""
		if out.Error != nil {
			code = string(out.Error.Code)
		}
		if d := cmp.Diff([]string{tc.trigger, tc.code}, []string{out.Trigger, code}); d != "" {
			t.Errorf("%s: trigger, code (-want +got)\n%s", tc.name, d)
		}
	}
}

// TestLogKeys: Lambda's JSON log keys, with the request id on lines written during the invocation only.
func TestLogKeys(t *testing.T) {
	var buf bytes.Buffer
	log := lambda.NewLogger(0, &buf)
	h := lambda.New(httpfn.New(echoRunner{}, httpfn.Config{Secret: secret, Logger: log}))
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-123"})
	invoke(t, h, ctx, []byte(`{}`))
	log.Info("after")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var during, after map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &during)
	_ = json.Unmarshal([]byte(lines[len(lines)-1]), &after)
	got := []any{during["level"], during["message"], during["requestId"], during["timestamp"] != nil, after["requestId"]}
	want := []any{"INFO", "run answered", "req-123", true, nil}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got)\n%s\n%s", d, buf.String())
	}
}

// TestQueryStringAndSourceIP: the Function URL's query string reaches the shared handler, which refuses
// it (?dry_run=true once ran for real), and the rejection is logged with requestContext.http.sourceIp,
// the address Lambda saw (a client's X-Forwarded-For is not trusted).
func TestQueryStringAndSourceIP(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	h := lambda.New(httpfn.New(echoRunner{}, httpfn.Config{Secret: secret, Logger: zap.New(core)}))
	ev := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: "/", RawQueryString: "dry_run=true",
		Headers: map[string]string{"x-scheduler-secret": secret, "content-type": "application/json", "x-forwarded-for": "10.9.9.9"},
		Body:    `{}`,
		RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
			Method: "POST", SourceIP: "198.51.100.7"}}}
	var res events.LambdaFunctionURLResponse
	if err := json.Unmarshal(invoke(t, h, context.Background(), ev), &res); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 400 || !strings.Contains(res.Body, "query-string parameters are not accepted") {
		t.Fatalf("query string: %d %s", res.StatusCode, res.Body)
	}
	lines := logs.FilterMessage("request rejected").All()
	if len(lines) != 1 || lines[0].ContextMap()["remote_addr"] != "198.51.100.7" {
		t.Fatalf("rejection lines: %+v", lines)
	}
}

// TestQueryStringAfterAuthentication: a Function URL's query string reaches the handler as received,
// even one that does not parse as a URL's (a control character): without the secret the answer is 401,
// with it 400 naming the parameters; neither the answer nor the log repeats the value, here the secret.
func TestQueryStringAfterAuthentication(t *testing.T) {
	var logs bytes.Buffer
	h := lambda.New(httpfn.New(echoRunner{}, httpfn.Config{Secret: secret, Logger: lambda.NewLogger(zapcore.DebugLevel, &logs)}))
	ev := func(query string, headers map[string]string) events.LambdaFunctionURLRequest {
		return events.LambdaFunctionURLRequest{Version: "2.0", RawPath: "/", RawQueryString: query, Headers: headers, Body: `{}`,
			RequestContext: events.LambdaFunctionURLRequestContext{DomainName: "abc.lambda-url.eu-north-1.on.aws",
				HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", SourceIP: "198.51.100.7"}}}
	}
	auth := map[string]string{"x-scheduler-secret": secret, "content-type": "application/json"}
	cases := []struct {
		name, query string
		headers     map[string]string
		status      int
		message     string
	}{
		{"no secret", "secret=" + secret, nil, 401, "missing or wrong X-Scheduler-Secret or X-Scheduler-Signature"},
		{"no secret, a control character", "secret=" + secret + "%00\x7f", nil, 401, "missing or wrong X-Scheduler-Secret or X-Scheduler-Signature"},
		{"the secret", "secret=" + secret, auth, 400, `query-string parameters are not accepted: put options in the JSON body (got parameters "secret"; values are not shown)`},
		{"the secret, a control character", "dry_run=true&secret=" + secret + "\x7f", auth, 400, `query-string parameters are not accepted: put options in the JSON body (got parameters "dry_run", "secret"; values are not shown)`},
	}
	for _, tc := range cases {
		var res events.LambdaFunctionURLResponse
		if err := json.Unmarshal(invoke(t, h, context.Background(), ev(tc.query, tc.headers)), &res); err != nil {
			t.Fatal(err)
		}
		var body httpfn.ErrorBody
		_ = json.Unmarshal([]byte(res.Body), &body)
		if res.StatusCode != tc.status || body.Error.Message != tc.message {
			t.Errorf("%s: %d %q, want %d %q", tc.name, res.StatusCode, body.Error.Message, tc.status, tc.message)
		}
		if repeatsSecret(res.Body) {
			t.Errorf("%s: the answer repeats 8 bytes of the secret: %s", tc.name, res.Body)
		}
	}
	if repeatsSecret(logs.String()) {
		t.Errorf("the logs repeat 8 bytes of the secret:\n%s", logs.String())
	}
}

// repeatsSecret reports whether s contains any 8 consecutive bytes of the secret.
func repeatsSecret(s string) bool {
	for i := 0; i+8 <= len(secret); i++ {
		if strings.Contains(s, secret[i:i+8]) {
			return true
		}
	}
	return false
}

// waitingRunner logs as the engine does (with the request's fields from the context); the run of the
// request id "first" waits until the other one has answered.
type waitingRunner struct {
	log          *zap.Logger
	secondDone   chan struct{}
	firstStarted chan struct{}
}

func (r waitingRunner) Run(ctx context.Context, req engine.Request) (engine.Report, error) {
	log := r.log.With(engine.LogFields(ctx)...)
	if req.Trigger == "direct" && req.DryRun {
		close(r.firstStarted)
		<-r.secondDone
	}
	log.Info("run started")
	return engine.Report{Status: engine.Completed, Trigger: req.Trigger, DryRun: req.DryRun}, nil
}

// TestRequestIDPerInvocation: two invocations in flight at once (a process serving one invocation at a
// time never sees this, a test or a future runtime may); each one's lines carry its own request id,
// the run's and the handler's, also when the other invocation ends first.
func TestRequestIDPerInvocation(t *testing.T) {
	var buf proctest.Buffer
	log := lambda.NewLogger(0, &buf)
	run := waitingRunner{log: log, secondDone: make(chan struct{}), firstStarted: make(chan struct{})}
	h := lambda.New(httpfn.New(run, httpfn.Config{Secret: secret, Logger: log}))
	ctxOf := func(id string) context.Context {
		return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: id})
	}
	first := make(chan struct{})
	go func() {
		defer close(first)
		invoke(t, h, ctxOf("req-first"), []byte(`{"dry_run":true}`))
	}()
	<-run.firstStarted
	invoke(t, h, ctxOf("req-second"), []byte(`{}`))
	close(run.secondDone)
	<-first

	got := map[string][]string{} // dry_run (from the answered line) or message -> request ids
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var l struct {
			Message   string `json:"message"`
			RequestID string `json:"requestId"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		got[l.Message] = append(got[l.Message], l.RequestID)
	}
	want := map[string][]string{"run started": {"req-second", "req-first"}, "run answered": {"req-second", "req-first"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("request ids per message, in log order (-want +got)\n%s\n%s", d, buf.String())
	}
}

// TestBadBase64ThroughErrorTable: a Function URL body that is not base64 is answered like every other
// rejection (the handler's error table and JSON writer: status, content type, no-store, the error body)
// and logged with the request id.
func TestBadBase64ThroughErrorTable(t *testing.T) {
	var buf proctest.Buffer
	log := lambda.NewLogger(0, &buf)
	h := lambda.New(httpfn.New(echoRunner{}, httpfn.Config{Secret: secret, Logger: log}))
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-b64"})
	ev := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: "/", Body: "not base64!", IsBase64Encoded: true,
		Headers:        map[string]string{"x-scheduler-secret": secret, "content-type": "application/json"},
		RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"}}}
	var res events.LambdaFunctionURLResponse
	if err := json.Unmarshal(invoke(t, h, ctx, ev), &res); err != nil {
		t.Fatal(err)
	}
	var body httpfn.ErrorBody
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
		t.Fatalf("%v: %s", err, res.Body)
	}
	got := []any{res.StatusCode, res.Headers["content-type"], res.Headers["cache-control"], string(body.Error.Code),
		strings.Contains(buf.String(), `"message":"request rejected"`) && strings.Contains(buf.String(), `"requestId":"req-b64"`)}
	want := []any{400, "application/json", "no-store", "invalid", true}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got)\n%s\n%s\n%s", d, res.Body, buf.String())
	}
}
