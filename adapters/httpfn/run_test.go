package httpfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/engine"
)

type runnerFunc func(context.Context, engine.Request) (engine.Report, error)

func (f runnerFunc) Run(ctx context.Context, req engine.Request) (engine.Report, error) {
	return f(ctx, req)
}

type panicRunner struct{}

func (panicRunner) Run(context.Context, engine.Request) (engine.Report, error) {
	panic("the engine must not be called")
}

func decodeJSON(t *testing.T, res *http.Response, v any) {
	t.Helper()
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestHungUpClient: the client disconnects while its run is in progress. The server notices (the
// request's context ends), but the run keeps its own context and completes.
func TestHungUpClient(t *testing.T) {
	t.Parallel()
	requestCtx := make(chan context.Context, 1)
	started := make(chan struct{})
	runErr := make(chan error, 1)
	b := setup(t, func(o *setupOptions) {
		o.wrap = func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requestCtx <- r.Context()
				h.ServeHTTP(w, r)
			})
		}
		o.runner = func(next httpfn.Runner) httpfn.Runner {
			return runnerFunc(func(ctx context.Context, req engine.Request) (engine.Report, error) {
				rc := <-requestCtx
				close(started)
				<-rc.Done() // the server has seen the client go
				rep, err := next.Run(ctx, req)
				if err == nil {
					err = ctx.Err()
				}
				runErr <- err
				return rep, err
			})
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	clientErr := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.srv.URL+"/", strings.NewReader("{}"))
		req.Header.Set(httpfn.SecretHeader, secret)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		clientErr <- err
	}()
	<-started
	cancel()
	if err := <-clientErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v, want context.Canceled", err)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("the run failed after the client hung up: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the run did not finish")
	}
	got := []int{
		b.count(t, `select count(*) from scheduler.runs where status = 'completed'`),
		b.count(t, `select count(*) from public.notifications`),
	}
	if d := cmp.Diff([]int{1, 1}, got); d != "" {
		t.Fatalf("completed runs, notifications: (-want +got)\n%s", d)
	}
}

// TestDatabaseUnavailable: 503 with Retry-After and an error id, and nothing of the connection string.
func TestDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	const url = "postgres://scenario_scheduler:db-password-xyz@127.0.0.1:1/postgres?connect_timeout=2"
	store, err := postgres.Open(context.Background(), postgres.Config{URL: url, Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	h := httpfn.New(engine.New(store, engine.Options{Location: oslo}), httpfn.Config{Secret: secret})
	b := &testBundle{handler: h}
	b.srv = newServer(t, h)
	res := b.do(t, request{header: authed("")})
	e, _ := res.json["error"].(map[string]any)
	if res.status != 503 || res.header.Get("Retry-After") == "" || e["error_id"] == "" || e["code"] != "unavailable" {
		t.Fatalf("got %d Retry-After=%q %s", res.status, res.header.Get("Retry-After"), res.raw)
	}
	for _, leak := range []string{"db-password-xyz", "127.0.0.1", "scenario_scheduler", "select"} {
		if strings.Contains(strings.ToLower(res.raw), leak) {
			t.Errorf("the answer leaks %q: %s", leak, res.raw)
		}
	}
}
