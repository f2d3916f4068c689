package gcf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap/zapcore"

	"github.com/peermentor/scenario-scheduler/adapters/gcf"
	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/engine"
)

const secret = "gcf-unit-secret-0123456789abcdefgh"

type okRunner struct{}

func (okRunner) Run(_ context.Context, req engine.Request) (engine.Report, error) {
	return engine.Report{Status: engine.Completed, Trigger: req.Trigger}, nil
}

// TestTraceInLogs sends requests with each trace header through a real server and reads the log lines.
// (The function built like the buildpack is tested in infra/dev/pack.)
func TestTraceInLogs(t *testing.T) {
	var buf bytes.Buffer
	log := gcf.NewLogger(zapcore.InfoLevel, &buf)
	srv := httptest.NewServer(gcf.Handler(httpfn.New(okRunner{}, httpfn.Config{Secret: secret, Logger: log}), "proj"))
	defer srv.Close()
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	cases := []struct {
		header, value string
		want          any
	}{
		{"X-Cloud-Trace-Context", id + "/1;o=1", "projects/proj/traces/" + id},
		{"Traceparent", "00-" + strings.ToUpper(id) + "-00f067aa0ba902b7-01", "projects/proj/traces/" + id},
		{"X-Cloud-Trace-Context", "not-a-trace/1", nil},
		{"X-Cloud-Trace-Context", "zz" + id[2:] + "/1", nil},
	}
	for _, tc := range cases {
		buf.Reset()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
		req.Header.Set(httpfn.SecretHeader, secret)
		req.Header.Set(tc.header, tc.value)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v: %s", tc.value, err, buf.String())
		}
		got := []any{res.StatusCode, line["severity"], line["message"], line[gcf.TraceKey], line["timestamp"] != nil}
		if d := cmp.Diff([]any{200, "INFO", "run answered", tc.want, true}, got); d != "" {
			t.Errorf("%s: %s (-want +got)\n%s", tc.header, tc.value, d)
		}
	}
}

func TestSeverities(t *testing.T) {
	var buf bytes.Buffer
	log := gcf.NewLogger(zapcore.DebugLevel, &buf)
	log.Debug("d")
	log.Info("i")
	log.Warn("w")
	log.Error("e")
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		_ = json.Unmarshal([]byte(l), &m)
		got = append(got, m["severity"].(string))
	}
	if d := cmp.Diff([]string{"DEBUG", "INFO", "WARNING", "ERROR"}, got); d != "" {
		t.Fatalf("(-want +got)\n%s", d)
	}
}

// TestQueryStringAndClientAddr: through the Cloud Functions handler a query string is refused (400), and
// the rejection is logged with the address Google's front end appended to X-Forwarded-For, never an
// address the client wrote in front of it.
func TestQueryStringAndClientAddr(t *testing.T) {
	var buf bytes.Buffer
	log := gcf.NewLogger(zapcore.InfoLevel, &buf)
	srv := httptest.NewServer(gcf.Handler(httpfn.New(okRunner{}, httpfn.Config{Secret: secret, Logger: log}), "proj"))
	defer srv.Close()
	cases := []struct{ forwarded, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"10.0.0.1, 203.0.113.9", "203.0.113.9"}, // the client wrote 10.0.0.1; the front end appended the rest
		{"2001:db8::1", "2001:db8::1"},
		{"203.0.113.9, not-an-address", "127.0.0.1:"}, // nothing usable: the TCP peer
		{"", "127.0.0.1:"},
	}
	for _, tc := range cases {
		buf.Reset()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/?dry_run=true", strings.NewReader("{}"))
		req.Header.Set(httpfn.SecretHeader, secret)
		if tc.forwarded != "" {
			req.Header.Set("X-Forwarded-For", tc.forwarded)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v: %s", tc.forwarded, err, buf.String())
		}
		addr, _ := line["remote_addr"].(string)
		if res.StatusCode != 400 || line["message"] != "request rejected" || !strings.HasPrefix(addr, tc.want) {
			t.Errorf("X-Forwarded-For %q: %d %v, want 400 logged with %s", tc.forwarded, res.StatusCode, line, tc.want)
		}
	}
}

// fieldsRunner records the log fields the engine would add to its run's lines (engine.LogFields).
type fieldsRunner struct{ got chan map[string]any }

func (r fieldsRunner) Run(ctx context.Context, req engine.Request) (engine.Report, error) {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range engine.LogFields(ctx) {
		f.AddTo(enc)
	}
	r.got <- enc.Fields
	return engine.Report{Status: engine.Completed, Trigger: req.Trigger}, nil
}

// TestTraceReachesEngine: the request's trace is on the context the engine runs with, so the engine's
// own lines ("run started", "scenario finished", ...) carry it, not only the handler's.
func TestTraceReachesEngine(t *testing.T) {
	run := fieldsRunner{got: make(chan map[string]any, 1)}
	srv := httptest.NewServer(gcf.Handler(httpfn.New(run, httpfn.Config{Secret: secret}), "test-project"))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
	req.Header.Set(httpfn.SecretHeader, secret)
	req.Header.Set("X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/1;o=1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	got := <-run.got
	if want := "projects/test-project/traces/105445aa7843bc8bf206b12000100000"; got[gcf.TraceKey] != want {
		t.Fatalf("fields on the engine's context: %v, want %s = %s", got, gcf.TraceKey, want)
	}
}
