package httpfn_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

// Test secrets: 32 bytes or more, like the configuration requires.
const (
	secret         = "test-secret-0123456789abcdefghijkl"
	previousSecret = "test-previous-secret-0123456789abc"
)

var oslo = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		panic(err)
	}
	return loc
}()

// today is the evaluation date a request without one gets.
func today(offset int) string {
	y, m, d := time.Now().In(oslo).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, offset).Format(engine.DateLayout)
}

// testBundle is one test's database, engine and a real HTTP server in front of the handler.
type testBundle struct {
	pool    *pgxpool.Pool
	handler *httpfn.Handler
	srv     *httptest.Server
}

type setupOptions struct {
	runner   func(httpfn.Runner) httpfn.Runner // wraps the engine
	wrap     func(http.Handler) http.Handler   // wraps the handler
	health   map[string]string
	noReplay bool        // configure no replay guard
	logger   *zap.Logger // the handler's logger
}

func setup(t *testing.T, opts ...func(*setupOptions)) *testBundle {
	t.Helper()
	var o setupOptions
	for _, f := range opts {
		f(&o)
	}
	b := &testBundle{pool: pgtest.NewPool(t)}
	store := postgres.NewFromPool(b.pool)
	var run httpfn.Runner = engine.New(store, engine.Options{Location: oslo})
	if o.runner != nil {
		run = o.runner(run)
	}
	cfg := httpfn.Config{Secret: secret, PreviousSecret: previousSecret, Health: o.health, Replay: store, Logger: o.logger}
	if o.noReplay {
		cfg.Replay = nil
	}
	b.handler = httpfn.New(run, cfg)
	var h http.Handler = b.handler
	if o.wrap != nil {
		h = o.wrap(h)
	}
	b.srv = newServer(t, h)

	// One active mentor who joined 30 days ago and never registered an activity: any real run notifies.
	b.exec(t, `with o as (insert into public.organisations (name) values ('Testforeningen') returning id)
		insert into public.peer_mentors (organisation_id, full_name, joined_on)
		select id, 'Test Mentor', current_date - 30 from o`)
	return b
}

// newServer serves h on a real loopback listener for the test's duration.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func (b *testBundle) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := b.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (b *testBundle) count(t *testing.T, sql string) int {
	t.Helper()
	var n int
	if err := b.pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// writes counts every row a run leaves behind.
func (b *testBundle) writes(t *testing.T) int {
	return b.count(t, `select (select count(*) from scheduler.runs) + (select count(*) from scheduler.checkpoints)
		+ (select count(*) from public.notifications)`)
}

// request is one HTTP request to the test server.
type request struct {
	method string
	path   string // default "/"; may carry a query string
	header map[string]string
	body   string
}

// response is what came back.
type response struct {
	status int
	header http.Header
	raw    string
	json   map[string]any
}

// errorCode is the error.code of an error body.
func (r response) errorCode() string {
	e, _ := r.json["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (b *testBundle) do(t *testing.T, req request) response {
	t.Helper()
	if req.method == "" {
		req.method = http.MethodPost
	}
	if req.path == "" {
		req.path = "/"
	}
	hr, err := http.NewRequest(req.method, b.srv.URL+req.path, strings.NewReader(req.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.header {
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &r.json); err != nil {
		t.Fatalf("%s %q: the answer is not a JSON object: %v\n%s", req.method, req.body, err, raw)
	}
	return r
}

// authed returns headers with the secret and, optionally, a content type.
func authed(contentType string) map[string]string {
	h := map[string]string{httpfn.SecretHeader: secret}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	return h
}

// signed returns headers with a signature made with key at t for a POST of body to path "/".
func signed(key string, t time.Time, body string) map[string]string {
	return signedAt(key, t, "/", body)
}

// signedAt returns headers with a signature made with key at t for a POST of body to path. A body the
// strict decoder refuses is signed as if it were empty.
func signedAt(key string, t time.Time, path, body string) map[string]string {
	b, _ := httpfn.DecodeSigned("application/json", []byte(body))
	hdr := http.Header{}
	httpfn.Sign(key, t, http.MethodPost, path, b).Set(hdr)
	h := map[string]string{"Content-Type": "application/json"}
	for k := range hdr {
		h[k] = hdr.Get(k)
	}
	return h
}
