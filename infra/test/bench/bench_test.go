package bench

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/dev/benchdata"
)

// benchMentors is the dataset size of the Go benchmarks: small enough for `go test -bench`, large enough
// for batches and plans to matter. Compare SQL or engine changes with
// `go test -run '^$' -bench . -count 10 ./infra/test/bench/ | benchstat` before and after.
const benchMentors = 3000

// setupBench loads a dataset, runs the day before (so today's run meets cooldowns and sent milestones)
// and returns the harness for today.
func setupBench(b testing.TB) *sizeBench {
	b.Helper()
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(b)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := benchdata.Load(ctx, conn, benchdata.Spec{Mentors: benchMentors, Seed: benchdata.DefaultSeed}, nil); err != nil {
		b.Fatal(err)
	}
	store, err := postgres.Open(ctx, postgres.Config{URL: dbURL})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(store.Close)
	sb := &sizeBench{pool: store.Pool(), dbURL: dbURL}
	b.Cleanup(sb.close)
	prev := evalDay.AddDate(0, 0, -1)
	eng, err := sb.engineFor(ctx, dbURL, prev, engine.DefaultBudget, 0)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := eng.Run(ctx, engine.Request{EvaluationDate: prev.Format(engine.DateLayout)}); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `vacuum (analyze) public.notifications`); err != nil {
		b.Fatal(err)
	}
	return sb
}

// TestRuleFloorCountsTheDaysNudges: the rule's floor is a yardstick only if it does the rule's reading;
// both formulations find exactly the nudges the engine writes for the day (default parameters, as the
// dataset has them).
func TestRuleFloorCountsTheDaysNudges(t *testing.T) {
	ctx := context.Background()
	sb := setupBench(t)
	counts := map[string]int64{}
	for name, q := range ruleFloorQueries {
		n, _, err := runFloor(ctx, sb.pool, q, evalDay)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		counts[name] = n
	}
	eng, err := sb.engineFor(ctx, sb.dbURL, evalDay, engine.DefaultBudget, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := eng.Run(ctx, engine.Request{EvaluationDate: evalDay.Format(engine.DateLayout), Scenarios: []string{engine.Inactivity}})
	if err != nil || rep.Status != engine.Completed {
		t.Fatalf("run: status %s, err %v", rep.Status, err)
	}
	nudged := int64(rep.Totals().Notified)
	if nudged == 0 {
		t.Fatal("the day nudged nobody: the comparison says nothing")
	}
	for name, n := range counts {
		if n != nudged {
			t.Errorf("rule floor %q counts %d nudges; the engine wrote %d", name, n, nudged)
		}
	}
}

// BenchmarkDailyRun: one full evaluation of every scenario, in-process through the store.
func BenchmarkDailyRun(b *testing.B) {
	ctx := context.Background()
	for _, par := range []int{1, 2} {
		b.Run(map[int]string{1: "sequential", 2: "parallel2"}[par], func(b *testing.B) {
			sb := setupBench(b)
			sb.cfg.Options.Parallelism = par
			eng, err := sb.engineFor(ctx, sb.dbURL, evalDay, engine.DefaultBudget, 0)
			if err != nil {
				b.Fatal(err)
			}
			req := engine.Request{EvaluationDate: evalDay.Format(engine.DateLayout)}
			for b.Loop() {
				b.StopTimer()
				if err := sb.reset(ctx, evalDay); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if rep, err := eng.Run(ctx, req); err != nil || rep.Status != engine.Completed {
					b.Fatalf("run: %s, %v", rep.Status, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchMentors, "ns/mentor")
		})
	}
}

// BenchmarkFloor: the inactivity floor and the rule's floor, both formulations each.
func BenchmarkFloor(b *testing.B) {
	sb := setupBench(b)
	queries := map[string]string{}
	for name, q := range floorQueries {
		queries[name] = q
	}
	for name, q := range ruleFloorQueries {
		queries["rule/"+name] = q
	}
	for name, q := range queries {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := runFloor(context.Background(), sb.pool, q, evalDay); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNaive: the per-mentor loop over the first 500 active mentors.
func BenchmarkNaive(b *testing.B) {
	ctx := context.Background()
	sb := setupBench(b)
	for b.Loop() {
		b.StopTimer()
		if err := sb.reset(ctx, evalDay); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := runNaive(ctx, sb.pool, evalDay, 500); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteCostLeavesTheAppAsItFound: the change feed's write cost measures both variants and leaves the
// activities, the feed's triggers and the feed as they were (it runs on the benchmark's kept datasets).
func TestWriteCostLeavesTheAppAsItFound(t *testing.T) {
	ctx := context.Background()
	sb := setupBench(t)
	sb.cfg = Config{Reps: 2, MaxWarmup: -1, WriteRows: 40, WriteBulk: 500}
	sb.cfg.defaults()
	state := func() (n int64, enabled int, feed int64) {
		t.Helper()
		if err := sb.pool.QueryRow(ctx, `select (select count(*) from public.activities),
			(select count(*)::int from pg_trigger where tgrelid = 'public.activities'::regclass and tgname like 'activities_feed_%' and tgenabled <> 'D'),
			(select count(*) from scheduler.mentor_changes)`).Scan(&n, &enabled, &feed); err != nil {
			t.Fatal(err)
		}
		return
	}
	n0, enabled0, _ := state()
	if enabled0 != 3 {
		t.Fatalf("%d feed triggers enabled on activities before, want 3", enabled0)
	}
	wc, err := sb.runWriteCost(ctx, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	if wc.SingleWithout.N != 2 || wc.SingleWith.N != 2 || wc.BulkWithout.N != 2 || wc.BulkWith.N != 2 || wc.SingleRatio <= 0 || wc.BulkRatio <= 0 {
		t.Errorf("write cost %+v; want two repetitions of each variant and both ratios", wc)
	}
	if n, enabled, feed := state(); n != n0 || enabled != 3 || feed != 0 {
		t.Errorf("after: %d activities (before %d), %d feed triggers enabled, %d feed rows; want the same activities, 3, 0", n, n0, enabled, feed)
	}
}
