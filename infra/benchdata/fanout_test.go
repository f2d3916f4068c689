package benchdata_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/benchdata"
)

// TestFanoutMeasure measures sharded fan-out (docs/performance.md, "Sharded fan-out"): the daily run of every
// scenario over a benchmark dataset, split into N = 1, 2, 4 shards that run at the same time, each on its own
// connection as N function instances would, each with the 30 s budget and called again while partial. It
// reports the wall time until every shard is done (median of the repetitions), the invocations it took, and
// the speed-up over N = 1. It is a measurement, not a check, and runs only when asked:
//
//	go run ./infra/cmd/localpg exec -data .local/bench-pg -- go run ./infra/cmd/benchdata 100k
//	SCHEDULER_FANOUT_SIZE=100k go run ./infra/cmd/localpg exec -data .local/bench-pg -- \
//	    go test -run TestFanoutMeasure -v -timeout 60m ./infra/benchdata/
func TestFanoutMeasure(t *testing.T) {
	size := os.Getenv("SCHEDULER_FANOUT_SIZE")
	if size == "" {
		t.Skip("set SCHEDULER_FANOUT_SIZE (e.g. 100k) to measure sharded fan-out")
	}
	sizes, err := benchdata.ParseSizes(size)
	if err != nil || len(sizes) != 1 {
		t.Fatalf("SCHEDULER_FANOUT_SIZE=%q: one size like 100k", size)
	}
	reps := 3
	shardCounts := []int{1, 2, 4}
	ctx := context.Background()
	dbURL, _, err := benchdata.Ensure(ctx, os.Getenv("DATABASE_URL"), benchdata.Spec{Mentors: sizes[0], Seed: benchdata.DefaultSeed}, false, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	store, err := postgres.Open(ctx, postgres.Config{URL: dbURL, MaxConns: int32(2 + slices.Max(shardCounts))})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pool := store.Pool()
	today := benchdata.Today
	eng := engine.New(store, engine.Options{Now: func() time.Time { return today.Add(7 * time.Hour) }})
	reset := func(d time.Time) {
		for _, q := range []string{`delete from public.notifications where evaluation_date >= $1`,
			`delete from scheduler.checkpoints where evaluation_date >= $1`} {
			if _, err := pool.Exec(ctx, q, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	// untilDone runs every shard of n at once, each called again while partial; it returns the wall time
	// and the invocations of all shards together.
	untilDone := func(date time.Time, n int) (time.Duration, int) {
		started := time.Now()
		calls := make([]int, n)
		var wg sync.WaitGroup
		for k := 1; k <= n; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := engine.Request{EvaluationDate: date.Format(engine.DateLayout)}
				if n > 1 {
					req.Shard = engine.Shard{No: k, Of: n}
				}
				for calls[k-1] < 20 {
					calls[k-1]++
					rep, err := eng.Run(ctx, req)
					if err != nil {
						t.Errorf("shard %d/%d: %v", k, n, err)
						return
					}
					if rep.Status == engine.Completed || rep.Status == engine.AlreadyCompleted {
						return
					}
				}
				t.Errorf("shard %d/%d not done after 20 invocations", k, n)
			}()
		}
		wg.Wait()
		total := 0
		for _, c := range calls {
			total += c
		}
		return time.Since(started), total
	}

	// Yesterday's run, once, so that today's is a daily run (cooldowns, milestones and rungs behind it).
	yesterday := today.AddDate(0, 0, -1)
	reset(yesterday)
	if took, calls := untilDone(yesterday, 1); t.Failed() {
		t.FailNow()
	} else {
		t.Logf("first run (yesterday): %.2f s in %d invocations", took.Seconds(), calls)
	}
	if _, err := pool.Exec(ctx, `vacuum (analyze) public.notifications, scheduler.checkpoints`); err != nil {
		t.Fatal(err)
	}

	var active int
	if err := pool.QueryRow(ctx, `select count(*) from public.peer_mentors where status = 'active'`).Scan(&active); err != nil {
		t.Fatal(err)
	}
	medians := map[int]time.Duration{}
	var out strings.Builder
	fmt.Fprintf(&out, "\n%s mentors (%d active), daily run of every scenario, %d repetitions, median wall time until every shard is done:\n",
		benchdata.Label(sizes[0]), active, reps)
	fmt.Fprintf(&out, "| N | median | runs | invocations | speed-up over N = 1 |\n|---|---|---|---|---|\n")
	// Interleaved (1, 2, 4, 1, 2, 4, ...), so that a change of load on the machine falls on every N alike.
	times := map[int][]time.Duration{}
	invocations := map[int][]int{}
	for range reps {
		for _, n := range shardCounts {
			reset(today)
			took, calls := untilDone(today, n)
			if t.Failed() {
				t.FailNow()
			}
			times[n] = append(times[n], took)
			invocations[n] = append(invocations[n], calls)
			var evaluated int
			if err := pool.QueryRow(ctx, `select coalesce(sum(evaluated), 0) from scheduler.checkpoints where evaluation_date = $1`, today).
				Scan(&evaluated); err != nil {
				t.Fatal(err)
			}
			if evaluated != active*len(engine.Scenarios) {
				t.Fatalf("N = %d evaluated %d mentor-scenarios, want %d", n, evaluated, active*len(engine.Scenarios))
			}
		}
	}
	for _, n := range shardCounts {
		ts := slices.Clone(times[n])
		slices.Sort(ts)
		medians[n] = ts[len(ts)/2]
		runs := make([]string, len(times[n]))
		for i, d := range times[n] {
			runs[i] = fmt.Sprintf("%.2f", d.Seconds())
		}
		fmt.Fprintf(&out, "| %d | %.2f s | %s | %v | %.2f× |\n", n, medians[n].Seconds(), strings.Join(runs, ", "), invocations[n],
			medians[1].Seconds()/medians[n].Seconds())
	}
	t.Log(out.String())
}
