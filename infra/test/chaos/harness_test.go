package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/functions/config"
	"github.com/peermentor/scenario-scheduler/functions/wire"
)

const secret = "chaos-test-secret-0123456789abcdef0123456789"

// today is the evaluation date of every run here, and the day the populations are relative to.
var today = func() time.Time {
	loc, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		panic(err)
	}
	y, m, d := time.Now().In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}()

// target is one populated database with the scheduler served over real HTTP on loopback.
type target struct {
	pool   *pgxpool.Pool
	store  *postgres.Store
	server *httptest.Server
}

// populated opens the database at url and adds n generated mentors to it.
func populated(t *testing.T, url string, n int) *target {
	t.Helper()
	ctx := context.Background()
	store, err := postgres.Open(ctx, postgres.Config{URL: url, MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	if err := pgtest.Populate(ctx, store.Pool(), n, today); err != nil {
		t.Fatal(err)
	}
	return &target{pool: store.Pool(), store: store}
}

// newTarget populates a fresh database with n mentors and serves the scheduler with the given budget,
// wired as the entry points wire it (functions/wire), with no delivery step at all: these tests time
// evaluation under faults (delivery under faults is the built binary's, with a local FCM server, in
// crash_test.go). PUSH_SENDER=none alone would not do: a run with delivery off still counts the outbox,
// after its budget, which the deadline sweeps would count against the budget.
func newTarget(t *testing.T, n int, budget time.Duration) *target {
	t.Helper()
	ctx := context.Background()
	c := config.Config{DatabaseURL: pgtest.NewDatabase(t), Secret: secret, Deadline: budget,
		Push: config.Push{Sender: config.SenderNone}}
	s, err := wire.New(ctx, c, nil, wire.Store(func(p *postgres.Config) { p.MaxConns, p.Lazy = 8, false }),
		wire.Engine(func(o *engine.Options) { o.Delivery.Off = false }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := pgtest.Populate(ctx, s.Store.Pool(), n, today); err != nil {
		t.Fatal(err)
	}
	tg := &target{pool: s.Store.Pool(), store: s.Store, server: httptest.NewServer(s.Handler)}
	t.Cleanup(tg.server.Close)
	return tg
}

// answer is one HTTP call's outcome.
type answer struct {
	status int
	report engine.Report
	body   string
	took   time.Duration
}

// post invokes the scheduler as pg_net does.
func (tg *target) post(t *testing.T) answer {
	t.Helper()
	body := fmt.Sprintf(`{"evaluation_date": %q}`, today.Format(engine.DateLayout))
	req, err := http.NewRequest(http.MethodPost, tg.server.URL, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(httpfn.SecretHeader, secret)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, body: string(raw), took: time.Since(start)}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &a.report); err != nil {
			t.Fatalf("a 200 answer that is not a report: %v: %s", err, raw)
		}
	}
	return a
}

// untilComplete calls until the run for today is completed (or already was), at most for limit.
func (tg *target) untilComplete(t *testing.T, limit time.Duration) []answer {
	t.Helper()
	var answers []answer
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		a := tg.post(t)
		answers = append(answers, a)
		if a.status == http.StatusOK && (a.report.Status == engine.Completed || a.report.Status == engine.AlreadyCompleted) {
			return answers
		}
		if a.status == http.StatusOK && a.report.Status == engine.Busy {
			time.Sleep(250 * time.Millisecond) // a dead run's lease runs out by itself
		}
	}
	t.Fatalf("no completed run within %v after %d calls; last: %d %s", limit, len(answers), answers[len(answers)-1].status, answers[len(answers)-1].body)
	return nil
}

// print is what the notifications table holds, reduced to compare two databases.
type print struct {
	Total       int
	PerScenario map[string]int
	Digest      string
}

func fingerprint(t *testing.T, pool *pgxpool.Pool) print {
	t.Helper()
	ctx := context.Background()
	p := print{PerScenario: map[string]int{}}
	err := pool.QueryRow(ctx, `select count(*), coalesce(md5(string_agg(idempotency_key || '|' || data::text, ','
		order by idempotency_key)), '') from public.notifications`).Scan(&p.Total, &p.Digest)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `select scenario, count(*)::int from public.notifications group by scenario`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		p.PerScenario[s] = n
	}
	return p
}

var (
	cleanMu     sync.Mutex
	cleanPrints = map[int]print{}
)

// cleanRun is the fingerprint of one uninterrupted run over a population of n (computed once per n).
func cleanRun(t *testing.T, n int) print {
	t.Helper()
	cleanMu.Lock()
	defer cleanMu.Unlock()
	if p, ok := cleanPrints[n]; ok {
		return p
	}
	tg := newTarget(t, n, 5*time.Minute)
	a := tg.post(t)
	if a.status != http.StatusOK || a.report.Status != engine.Completed {
		t.Fatalf("clean run: %d %s", a.status, a.body)
	}
	p := fingerprint(t, tg.pool)
	if p.Total == 0 {
		t.Fatal("the clean run notified nobody: the population is wrong")
	}
	cleanPrints[n] = p
	return p
}
