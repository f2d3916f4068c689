package supabase_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// continueBundle is a fresh migrated database with pg_net and Vault (stand-ins where missing) in which the
// requests' queue, the function's runs and its checkpoints live together, as in a project: the test plays
// pg_net's worker for it (send), which the real worker never does for a database it does not serve.
type continueBundle struct {
	url    string
	conn   *pgx.Conn // as DATABASE_URL's role, which applied the migrations and owns scheduler.invoke()
	worker *pgx.Conn // as the role pg_net's worker connects as
	last   int64     // the last scheduler.invocations id the test has seen
}

func continueSetup(t *testing.T) *continueBundle {
	t.Helper()
	dbURL, conn := withStandIns(t)
	return &continueBundle{url: dbURL, conn: conn, worker: connect(t, workerURL(t, dbURL))}
}

// serve stores the URL of a server running h, and the secret, in Vault.
func (b *continueBundle) serve(t *testing.T, h http.Handler, secret string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	storeSecrets(t, b.conn, srv.URL+"/", secret)
}

// exec runs statements as the owner.
func (b *continueBundle) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := b.conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// continuePartial calls scheduler.continue_partial(max) (max < 0: the setting) and returns how many requests
// it queued.
func (b *continueBundle) continuePartial(t *testing.T, max int) int {
	t.Helper()
	var n int
	var arg any
	if max >= 0 {
		arg = max
	}
	if err := b.conn.QueryRow(context.Background(), `select scheduler.continue_partial($1)`, arg).Scan(&n); err != nil {
		t.Fatalf("continue_partial: %v", err)
	}
	return n
}

// sentRequest is a request taken from pg_net's queue and sent, with its body and the answer.
type sentRequest struct {
	Job    string
	Body   map[string]any
	Status int
	Report engine.Report
}

// sendQueued plays pg_net's worker for the requests queued since the last call, in their order.
func (b *continueBundle) sendQueued(t *testing.T) []sentRequest {
	t.Helper()
	ctx := context.Background()
	rows, err := b.conn.Query(ctx, `select i.id, i.request_id, coalesce(i.job, ''), convert_from(q.body, 'UTF8')
		from scheduler.invocations i join net.http_request_queue q on q.id = i.request_id
		where i.id > $1 order by i.id`, b.last)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID, Request int64
		Job, Body   string
	}
	queued, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		t.Fatal(err)
	}
	var out []sentRequest
	for _, q := range queued {
		b.last = q.ID
		s := sentRequest{Job: q.Job}
		if err := json.Unmarshal([]byte(q.Body), &s.Body); err != nil {
			t.Fatal(err)
		}
		if err := send(ctx, b.worker, q.Request); err != nil {
			t.Fatal(err)
		}
		var content string
		if err := b.conn.QueryRow(ctx, `select coalesce(status_code, 0), coalesce(content, error_msg, '') from net._http_response where id = $1`,
			q.Request).Scan(&s.Status, &content); err != nil {
			t.Fatal(err)
		}
		if s.Status == http.StatusOK {
			if err := json.Unmarshal([]byte(content), &s.Report); err != nil {
				t.Fatalf("answer to request %d is not a report: %v\n%s", q.Request, err, content)
			}
		}
		out = append(out, s)
	}
	return out
}

// states lists scheduler.partial_parts() as "date slot shards scenarios: state continuations".
func (b *continueBundle) states(t *testing.T, max int) []string {
	t.Helper()
	var arg any
	if max >= 0 {
		arg = max
	}
	return queryStrings(t, b.conn, `select evaluation_date || ' ' || coalesce(nullif(slot, ''), '-') || ' ' || shards || ' '
		|| coalesce(array_to_string(scenarios, ','), 'all') || ': ' || state || ' ' || continuations
		from scheduler.partial_parts(now(), $1)`, arg)
}

// slowBatches delays every batch, so that a small budget cuts each invocation short.
type slowBatches struct {
	engine.Store
	delay time.Duration
}

func (s slowBatches) EvaluateBatch(ctx context.Context, b engine.Batch) (engine.BatchResult, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return engine.BatchResult{}, ctx.Err()
	}
	return s.Store.EvaluateBatch(ctx, b)
}

// A run too large for one invocation (here: a 300 ms budget, slow batches) answers partial; each call of
// scheduler.continue_partial() then queues the same request again (its scenarios, its two shards, the date it
// evaluated), signed, through scheduler.invoke(), and the real function accepts and resumes it from the
// checkpoints, until the date is complete; then it queues nothing. Before, nothing but the schedule's next
// call (or a catch-up job) resumed the run.
func TestPartialRunContinuesUntilComplete(t *testing.T) {
	ctx := context.Background()
	b := continueSetup(t)
	if err := postgres.ApplySQL(ctx, b.conn, supabase.Seed); err != nil {
		t.Fatal(err)
	}
	store, err := postgres.Open(ctx, postgres.Config{URL: loginRole(t, b.conn, b.url)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	const budget = 300 * time.Millisecond
	eng := engine.New(slowBatches{Store: store, delay: 25 * time.Millisecond},
		engine.Options{Budget: budget, Margin: 50 * time.Millisecond, MinBatch: 10, MaxBatch: 20})
	secret := randomHex(t, 32)
	b.serve(t, httpfn.New(eng, httpfn.Config{Secret: secret, Budget: budget, Replay: store}), secret)

	b.exec(t, `select scheduler.invoke(array['inactivity', 'milestone'], 'scenario-scheduler-daily', false, 2)`)
	first := b.sendQueued(t)
	if len(first) != 2 {
		t.Fatalf("%d requests for 2 shards", len(first))
	}
	date := first[0].Report.EvaluationDate
	for _, s := range first {
		if s.Status != http.StatusOK || s.Report.Status != engine.Partial {
			t.Fatalf("the first run's shard answered %d %s; want 200 partial (the budget must cut it short)", s.Status, s.Report.Status)
		}
	}
	if got, want := b.states(t, -1), []string{date + " - 2 inactivity,milestone: continue 0"}; !cmp.Equal(got, want) {
		t.Errorf("partial_parts after the first run: %q, want %q", got, want)
	}

	continuations := 0
	for {
		n := b.continuePartial(t, -1)
		if n == 0 {
			break
		}
		continuations++
		if continuations > 20 {
			t.Fatal("still continuing after 20 continuations (the bound)")
		}
		sent := b.sendQueued(t)
		if n != 2 || len(sent) != 2 {
			t.Fatalf("continuation %d: continue_partial said %d, %d requests queued; want 2 (one per shard)", continuations, n, len(sent))
		}
		for k, s := range sent {
			want := map[string]any{"trigger": "cron", "job": "scheduler-continue", "scenarios": []any{"inactivity", "milestone"},
				"shard": fmt.Sprintf("%d/2", k+1), "evaluation_date": date}
			if diff := cmp.Diff(want, s.Body); diff != "" {
				t.Errorf("continuation %d's request (-want +got):\n%s", continuations, diff)
			}
			// 200: the signature was valid (and used once), and the run resumed rather than started over.
			if s.Status != http.StatusOK || s.Report.Trigger != "cron:scheduler-continue" || s.Report.EvaluationDate != date {
				t.Fatalf("continuation %d answered %d, trigger %q, date %s", continuations, s.Status, s.Report.Trigger, s.Report.EvaluationDate)
			}
		}
	}
	if continuations == 0 {
		t.Fatal("continue_partial queued nothing for a partial run")
	}
	t.Logf("complete after %d continuations", continuations)
	var done, rows int
	if err := b.conn.QueryRow(ctx, `select count(*) filter (where done), count(*) from scheduler.checkpoints
		where evaluation_date = $1::date and shards = 2 and scenario in ('inactivity', 'milestone')`, date).Scan(&done, &rows); err != nil {
		t.Fatal(err)
	}
	if done != 4 || rows != 4 {
		t.Errorf("after %d continuations %d of %d checkpoints are done, want 4 of 4", continuations, done, rows)
	}
	// Each mentor once: every shard's walk covered its range exactly once across the invocations.
	var evaluated, active int
	if err := b.conn.QueryRow(ctx, `select (select sum(evaluated) from scheduler.checkpoints
		where evaluation_date = $1::date and scenario = 'inactivity' and shards = 2),
		(select count(*) from scheduler_source.peer_mentors where status = 'active')`, date).Scan(&evaluated, &active); err != nil {
		t.Fatal(err)
	}
	if evaluated != active {
		t.Errorf("inactivity evaluated %d mentors over the continuations, %d are active", evaluated, active)
	}
	if got := b.states(t, -1); len(got) != 0 {
		t.Errorf("partial_parts of a complete date: %q, want none", got)
	}
	if n := b.continuePartial(t, -1); n != 0 {
		t.Errorf("continue_partial queued %d requests for a complete date", n)
	}
}

// answering answers every request with status and body, and counts them; it checks nothing.
func answering(t *testing.T, status int, body string) (http.Handler, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}), &calls
}

// partialRun records a run of today's date (Europe/Oslo, the engine's default) as the function would have:
// status, dry run or not, and the request's JSON; and leaves one checkpoint of inactivity not done. The daily
// job's request that started it is recorded too, answered 2xx, as the watchdog would have accounted for it.
func (b *continueBundle) partialRun(t *testing.T, status string, dryRun bool, request string) string {
	t.Helper()
	date := b.runElsewhere(t, status, dryRun, request)
	b.exec(t, `insert into scheduler.invocations (request_id, trigger, job, dry_run, queued_at, outcome, slot, shard, scenarios)
		values (-1, 'cron:scenario-scheduler-daily', 'scenario-scheduler-daily', $1, now() - interval '3 minutes', 'ok',
		        $2::jsonb ->> 'slot', $2::jsonb ->> 'shard', scheduler.scenario_set($2::jsonb -> 'scenarios'))`, dryRun, request)
	return date
}

// runElsewhere is partialRun without the request: a run another caller started.
func (b *continueBundle) runElsewhere(t *testing.T, status string, dryRun bool, request string) string {
	t.Helper()
	var date string
	if err := b.conn.QueryRow(context.Background(), `select to_char((now() at time zone 'Europe/Oslo')::date, 'YYYY-MM-DD')`).Scan(&date); err != nil {
		t.Fatal(err)
	}
	b.exec(t, `insert into scheduler.runs (id, evaluation_date, trigger, dry_run, status, started_at, request)
		values (gen_random_uuid(), $1::date, 'cron:scenario-scheduler-daily', $2, $3, now() - interval '3 minutes', $4::jsonb)`,
		date, dryRun, status, request)
	b.exec(t, `insert into scheduler.checkpoints (evaluation_date, scenario, evaluated, batches) values ($1::date, 'inactivity', 100, 1)
		on conflict do nothing`, date)
	return date
}

// What continue_partial() does not continue, or stops continuing: a function that keeps failing gets two
// continuations (the second failed answer in a row stops it; the watchdog's alerts take over), one that
// answers without progress gets the bound and then none, and a complete date, a dry run, a date whose
// request still waits for pg_net's answer, a part a run holds the lease of, or a run that no request of the
// database started, none.
func TestContinuationIsBounded(t *testing.T) {
	t.Parallel()
	const request = `{"evaluation_date": null, "scenarios": null, "dry_run": false, "deliver_only": false}`
	for _, c := range []struct {
		name   string
		status int
		answer string
		setup  func(t *testing.T, b *continueBundle)
		max    int // the bound passed to continue_partial (-1: ops_settings.continue_max)
		// queued is how many requests each call of continue_partial queues, until it queues none.
		queued []int
		state  string         // partial_parts' state afterwards ("": the part is not listed)
		body   map[string]any // fields every continuation's body must have (and the date and job, always)
	}{
		{name: "a function that keeps failing", status: http.StatusInternalServerError, answer: `{"error":{"id":"x"}}`,
			setup: func(t *testing.T, b *continueBundle) { b.partialRun(t, "partial", false, request) },
			max:   -1, queued: []int{1, 1}, state: "failing 2"},
		{name: "a function that answers without progress", status: http.StatusOK, answer: `{"status":"partial"}`,
			setup: func(t *testing.T, b *continueBundle) { b.partialRun(t, "partial", false, request) },
			max:   3, queued: []int{1, 1, 1}, state: "bound 3"},
		{name: "the bound from ops_settings", status: http.StatusOK, answer: `{"status":"partial"}`,
			setup: func(t *testing.T, b *continueBundle) {
				b.partialRun(t, "partial", false, request)
				b.exec(t, `update scheduler.ops_settings set continue_max = 2`)
			},
			max: -1, queued: []int{1, 1}, state: "bound 2"},
		{name: "continuation turned off", status: http.StatusOK, answer: `{"status":"partial"}`,
			setup: func(t *testing.T, b *continueBundle) {
				b.partialRun(t, "partial", false, request)
				b.exec(t, `update scheduler.ops_settings set continue_max = 0`)
			},
			max: -1, state: "off 0"},
		{name: "a run that failed with a 503 is tried again once", status: http.StatusServiceUnavailable, answer: `{}`,
			setup: func(t *testing.T, b *continueBundle) {
				b.partialRun(t, "failed", false, request)
				b.exec(t, `select scheduler.invoke(null, 'scenario-scheduler-daily')`)
				if s := b.sendQueued(t); len(s) != 1 || s[0].Status != http.StatusServiceUnavailable {
					t.Fatalf("the daily job's request: %+v", s)
				}
			},
			max: -1, queued: []int{1}, state: "failing 1"},
		// A function that died mid-run leaves its run "running" (scheduler.prune later closes it as abandoned).
		{name: "a run left running by a function that died", status: http.StatusOK, answer: `{"status":"partial"}`,
			setup: func(t *testing.T, b *continueBundle) { b.partialRun(t, "running", false, request) },
			max:   2, queued: []int{1, 1}, state: "bound 2"},
		{name: "a run closed as abandoned", status: http.StatusOK, answer: `{"status":"partial"}`,
			setup: func(t *testing.T, b *continueBundle) { b.partialRun(t, "abandoned", false, request) },
			max:   1, queued: []int{1}, state: "bound 1"},
		// The hourly job's slot: the continuation names the slot, its shards and its date.
		{name: "a slot's run in shards", status: http.StatusOK, answer: `{"status":"partial"}`,
			setup: func(t *testing.T, b *continueBundle) {
				b.partialRun(t, "partial", false, `{"slot": "Asia/Tokyo@08", "shard": "2/3", "scenarios": ["milestone"]}`)
			},
			max: 1, queued: []int{3}, state: "bound 1",
			body: map[string]any{"slot": "Asia/Tokyo@08", "scenarios": []any{"milestone"}}},
		// Cloud Scheduler, curl or the Lambda console: the database has no request to repeat, the caller resumes.
		{name: "a run another caller started", status: http.StatusOK, answer: `{"status":"partial"}`,
			setup: func(t *testing.T, b *continueBundle) { b.runElsewhere(t, "partial", false, request) },
			max:   -1, state: "elsewhere 0"},
		{name: "a complete date", status: http.StatusOK, answer: `{"status":"partial"}`,
			setup: func(t *testing.T, b *continueBundle) {
				date := b.partialRun(t, "partial", false, request)
				b.exec(t, `insert into scheduler.checkpoints (evaluation_date, scenario, done)
					select $1::date, e.scenario, true from scheduler.enabled_scenarios() e
					on conflict (evaluation_date, scenario, slot, shards, shard) do update set done = true`, date)
			},
			max: -1},
		{name: "a dry run", status: http.StatusOK, answer: `{"status":"partial"}`,
			setup: func(t *testing.T, b *continueBundle) {
				b.partialRun(t, "partial", true, `{"dry_run": true}`)
			},
			max: -1},
		{name: "a request still waiting for pg_net", status: http.StatusOK, answer: `{"status":"partial"}`,
			setup: func(t *testing.T, b *continueBundle) {
				b.partialRun(t, "partial", false, request)
				b.exec(t, `select scheduler.invoke(null, 'scenario-scheduler-daily')`)
				b.last = 1 << 62 // never sent
			},
			max: -1, state: "waiting 0"},
		{name: "a run holding the lease", status: http.StatusOK, answer: `{"status":"partial"}`,
			setup: func(t *testing.T, b *continueBundle) {
				b.partialRun(t, "partial", false, request)
				b.exec(t, `update scheduler.checkpoints set lease_owner = gen_random_uuid(), lease_until = now() + interval '1 minute'`)
			},
			max: -1, state: "leased 0"},
		{name: "a shard layout another count is using (busy)", status: http.StatusOK, answer: `{"status":"partial"}`,
			setup: func(t *testing.T, b *continueBundle) {
				b.partialRun(t, "busy", false, `{"shard": "1/4"}`)
			},
			max: -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := continueSetup(t)
			h, calls := answering(t, c.status, c.answer)
			b.serve(t, h, randomHex(t, 32))
			c.setup(t, b)
			before := calls.Load()
			var queued []int
			for len(queued) <= 25 {
				n := b.continuePartial(t, c.max)
				if n == 0 {
					break
				}
				queued = append(queued, n)
				for _, s := range b.sendQueued(t) {
					if s.Job != "scheduler-continue" || s.Body["job"] != "scheduler-continue" || s.Body["evaluation_date"] == nil {
						t.Errorf("queued by job %q: %v, want scheduler-continue's with the run's date", s.Job, s.Body)
					}
					for k, v := range c.body {
						if !cmp.Equal(s.Body[k], v) {
							t.Errorf("the continuation's %s is %v, want %v", k, s.Body[k], v)
						}
					}
				}
			}
			if !cmp.Equal(queued, c.queued, cmpEmpty) {
				t.Errorf("continue_partial queued %v, want %v", queued, c.queued)
			}
			total := 0
			for _, n := range queued {
				total += n
			}
			if got := int(calls.Load() - before); got != total {
				t.Errorf("the function got %d requests, %d were queued", got, total)
			}
			states := b.states(t, c.max)
			switch {
			case c.state == "" && len(states) != 0:
				t.Errorf("partial_parts: %q, want no part", states)
			case c.state != "" && (len(states) != 1 || !strings.HasSuffix(states[0], ": "+c.state)):
				t.Errorf("partial_parts: %q, want one part, %s", states, c.state)
			}
		})
	}
}

// cmpEmpty treats a nil and an empty slice as equal.
var cmpEmpty = cmp.Comparer(func(a, b []int) bool { return fmt.Sprint(a) == fmt.Sprint(b) })
