package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/peermentor/scenario-scheduler/engine"
)

// shardOf is the oracle for scheduler.shard_bounds, computed here from the definition and not from the SQL:
// shard k of n holds the ids in (lower, upper], the cut points (k-1)/n of the uuid space on its first 32
// bits, the last shard ending at the largest uuid.
func shardOf(t *testing.T, id string, n int) int {
	t.Helper()
	prefix, err := strconv.ParseUint(id[:8], 16, 64)
	if err != nil {
		t.Fatalf("mentor id %q: %v", id, err)
	}
	restZero := strings.Trim(id[8:], "-0") == ""
	for k := n; k >= 1; k-- {
		lower := (uint64(k-1) << 32) / uint64(n)
		if prefix > lower || (prefix == lower && !restZero && k > 1) {
			return k
		}
	}
	return 1
}

// activeByShard counts the active mentors of each shard of n with the oracle above.
func (b *testBundle) activeByShard(t *testing.T, n int) map[int]int {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `select id::text from public.peer_mentors where status = 'active'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	counts := map[int]int{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		counts[shardOf(t, id, n)]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return counts
}

// runShards runs shards 1..n of req at the same time, each through its own call (as pg_net sends them), and
// returns their reports in shard order. ctxFor gives each call its context (nil: background).
func (b *testBundle) runShards(t *testing.T, e *engine.Engine, req engine.Request, n int, ctxFor func(k int) (context.Context, context.CancelFunc)) []engine.Report {
	t.Helper()
	reports := make([]engine.Report, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := 1; k <= n; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if ctxFor != nil {
				ctx, cancel = ctxFor(k)
			}
			defer cancel()
			r := req
			r.Shard = engine.Shard{No: k, Of: n}
			reports[k-1], errs[k-1] = e.Run(ctx, r)
		}()
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			t.Fatalf("shard %d/%d: %v", k+1, n, err)
		}
	}
	return reports
}

// checkExactlyOnce asserts what N shards of one date did together: for every scenario, each shard's
// checkpoint evaluated exactly the active mentors of its range (the oracle), so together every active
// mentor once; and the notifications are those of one unsharded run.
func checkExactlyOnce(t *testing.T, b *testBundle, n int, want []notification) {
	t.Helper()
	perShard := b.activeByShard(t, n)
	active := b.count(t, `select count(*) from public.peer_mentors where status = 'active'`)
	for _, sc := range engine.Scenarios {
		rows, err := b.pool.Query(context.Background(), `select shard, shards, evaluated, done from scheduler.checkpoints
			where evaluation_date = $1::date and scenario = $2 order by shard`, day(0), sc)
		if err != nil {
			t.Fatal(err)
		}
		total, seen := 0, 0
		for rows.Next() {
			var shard, shards, evaluated int
			var done bool
			if err := rows.Scan(&shard, &shards, &evaluated, &done); err != nil {
				t.Fatal(err)
			}
			seen++
			total += evaluated
			if shards != n || !done || evaluated != perShard[shard] {
				t.Errorf("%s shard %d/%d: evaluated %d, done %t; want %d/%d with the %d active mentors of its range, done",
					sc, shard, shards, evaluated, done, shard, n, perShard[shard])
			}
		}
		rows.Close()
		if seen != n || total != active {
			t.Errorf("%s: %d checkpoints evaluated %d mentors; want %d shards evaluating each of the %d active mentors once",
				sc, seen, total, n, active)
		}
	}
	if diff := cmp.Diff(want, b.notifications(t)); diff != "" {
		t.Errorf("%d shards: notifications differ from one unsharded run (-unsharded +sharded):\n%s", n, diff)
	}
}

// N shards run at the same time evaluate every active mentor once per scenario and create exactly the
// notifications of one unsharded run; each report names its shard.
func TestShardsCoverEveryMentorOnce(t *testing.T) {
	t.Parallel()
	small := func(o *engine.Options) { o.MinBatch, o.MaxBatch = 10, 60 }
	const population = 1200
	clean := setup(t, small)
	clean.population(t, population)
	if rep := clean.run(t, engine.Request{}); rep.Status != engine.Completed {
		t.Fatalf("unsharded run: %s", rep.Status)
	}
	want := clean.notifications(t)
	if len(want) == 0 {
		t.Fatal("the unsharded run created no notification: the comparison would prove nothing")
	}
	for _, n := range []int{1, 2, 4, 8} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			t.Parallel()
			b := setup(t, small)
			b.population(t, population)
			for k, rep := range b.runShards(t, b.engine, engine.Request{}, n, nil) {
				wantShard := fmt.Sprintf("%d/%d", k+1, n)
				if n == 1 {
					wantShard = ""
				}
				if rep.Status != engine.Completed || rep.Shard != wantShard {
					t.Errorf("shard %d/%d: status %s, report shard %q; want completed, %q", k+1, n, rep.Status, rep.Shard, wantShard)
				}
			}
			checkExactlyOnce(t, b, n, want)
			// The runs' stored requests name their shard too.
			if n > 1 {
				if got := b.count(t, `select count(distinct request->>'shard') from scheduler.runs`); got != n {
					t.Errorf("stored runs name %d distinct shards, want %d", got, n)
				}
			}
		})
	}
}

// Shards that die mid-way (their calls cancelled at random moments, or cut by a tiny budget) and are called
// again resume from their own checkpoints: in the end every active mentor was evaluated once per scenario and
// the notifications are those of one unsharded run. A cut call answers partial (or busy), never failed nor an
// error: its cut batch rolled back (run.stopped). Under load this failed with SQLSTATE 57014 on a statement
// whose context was alive, a late cancel request meant for an earlier statement on the same pooled
// connection; the store now closes such connections (TestLateCancelRequestDoesNotReachTheNextStatement).
func TestShardsDieAndResume(t *testing.T) {
	t.Parallel()
	small := func(o *engine.Options) { o.MinBatch, o.MaxBatch = 10, 40 }
	const population = 1200
	clean := setup(t, small)
	clean.population(t, population)
	clean.run(t, engine.Request{})
	want := clean.notifications(t)

	for _, n := range []int{1, 2, 4, 8} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			t.Parallel()
			b := setup(t, small, func(o *engine.Options) { o.Lease = 300 * time.Millisecond })
			b.population(t, population)
			// A tiny budget: each call does a little and answers partial.
			cut := b.engineWith(b.store, func(o *engine.Options) { o.Budget = 60 * time.Millisecond; o.Margin = time.Millisecond })
			rng := rand.New(rand.NewPCG(uint64(n), 14))
			partials := 0
			for round := 0; round < 200; round++ {
				e := b.engine
				ctxFor := func(int) (context.Context, context.CancelFunc) { return context.Background(), func() {} }
				switch round % 3 {
				case 0: // cancelled mid-way, at a different moment for each shard
					delays := make([]time.Duration, n+1)
					for k := range delays {
						delays[k] = time.Duration(rng.IntN(40)+1) * time.Millisecond
					}
					ctxFor = func(k int) (context.Context, context.CancelFunc) {
						return context.WithTimeout(context.Background(), delays[k])
					}
				case 1: // cut by the budget
					e = cut
				}
				if round > 60 { // let the last rounds finish, as the catch-up job would
					e, ctxFor = b.engine, nil
				}
				done := true
				for _, rep := range b.runShards(t, e, engine.Request{}, n, ctxFor) {
					switch rep.Status {
					case engine.Completed, engine.AlreadyCompleted:
					case engine.Partial, engine.Busy:
						done = false
						partials++
					default:
						t.Fatalf("round %d: a shard answered %s: %+v", round, rep.Status, rep)
					}
				}
				if done {
					break
				}
			}
			if partials == 0 {
				t.Fatal("no shard was ever cut: the test proves nothing about resuming")
			}
			checkExactlyOnce(t, b, n, want)
		})
	}
}

// A date's scenario keeps the shard count its first call chose: a call with another count is turned away
// (busy, with the count to use) while that layout is incomplete, and answered already_completed once it is
// done. Nothing is evaluated twice.
func TestShardLayoutIsKeptPerDate(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *engine.Options) { o.MinBatch, o.MaxBatch = 10, 40 })
	b.population(t, 400)
	req := engine.Request{Scenarios: []string{engine.Inactivity}}

	first := req
	first.Shard = engine.Shard{No: 1, Of: 2}
	if rep := b.run(t, first); rep.Status != engine.Completed {
		t.Fatalf("shard 1/2: %s", rep.Status)
	}
	for _, other := range []engine.Shard{{}, {No: 1, Of: 4}} {
		r := req
		r.Shard = other
		s := scenario(t, b.run(t, r), engine.Inactivity)
		if s.Status != engine.Busy || s.Evaluated != 0 || !strings.Contains(s.Message, "split into 2 shards") {
			t.Errorf("shard %q while 2/2 is not done: %s, evaluated %d, %q; want busy naming 2 shards, nothing evaluated",
				other, s.Status, s.Evaluated, s.Message)
		}
	}
	second := req
	second.Shard = engine.Shard{No: 2, Of: 2}
	if rep := b.run(t, second); rep.Status != engine.Completed {
		t.Fatalf("shard 2/2: %s", rep.Status)
	}
	s := scenario(t, b.run(t, req), engine.Inactivity)
	active := b.count(t, `select count(*) from public.peer_mentors where status = 'active'`)
	if s.Status != engine.AlreadyCompleted || s.Evaluated != 0 || s.TotalEvaluated != active {
		t.Errorf("unsharded call after both shards: %s, evaluated %d, total %d; want already_completed, 0, %d",
			s.Status, s.Evaluated, s.TotalEvaluated, active)
	}
	if got := b.count(t, `select count(*) from scheduler.checkpoints where shards <> 2`); got != 0 {
		t.Errorf("%d checkpoints of another layout were created", got)
	}
}

// A shard outside 1 <= k <= N <= 64 is refused before anything is written.
func TestShardOutOfRangeIsInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, s := range []engine.Shard{{No: 0, Of: 4}, {No: 5, Of: 4}, {No: 1, Of: 65}, {No: -1, Of: 2}, {No: 1}} {
		_, err := b.engine.Run(context.Background(), engine.Request{Shard: s})
		if engine.ErrorCode(err) != engine.Invalid {
			t.Errorf("shard %+v: %v, want an invalid request", s, err)
		}
	}
	if got := b.count(t, `select (select count(*) from scheduler.runs) + (select count(*) from scheduler.checkpoints)`); got != 0 {
		t.Errorf("%d runs and checkpoints written for refused requests", got)
	}
}
