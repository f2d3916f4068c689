package benchdata_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/dev/benchdata"
)

// TestFanoutMeasure measures sharded fan-out (docs/performance.md, "Sharded fan-out"): the daily run of every
// scenario over a benchmark dataset, split into N = 1, 2, 4 shards that run at the same time, each on its own
// connection as N function instances would, each with the 30 s budget and called again while partial. It
// reports the wall time until every shard is done (median of the repetitions), the invocations it took, and
// the speed-up over N = 1. It is a measurement, not a check, and runs only when asked:
//
//	go run ./infra/dev/localpg/cmd exec -data .local/bench-pg -- go run ./infra/dev/benchdata/cmd 100k
//	SCHEDULER_FANOUT_SIZE=100k go run ./infra/dev/localpg/cmd exec -data .local/bench-pg -- \
//	    go test -run TestFanoutMeasure -v -timeout 60m ./infra/dev/benchdata/
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
	if r, err := strconv.Atoi(os.Getenv("SCHEDULER_FANOUT_REPS")); err == nil && r > 0 {
		reps = r
	}
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
	// The database's CPU time: the server's processes on this machine (the test's cluster is local).
	var backend int
	if err := pool.QueryRow(ctx, `select pg_backend_pid()`).Scan(&backend); err != nil {
		t.Fatal(err)
	}
	postmaster := parentOf(backend)
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
	fmt.Fprintf(&out, "| N | median | runs | invocations | speed-up over N = 1 | database CPU (median) | database cores busy | function CPU (median) |\n|---|---|---|---|---|---|---|---|\n")
	// Interleaved (1, 2, 4, 1, 2, 4, ...), so that a change of load on the machine falls on every N alike.
	times := map[int][]time.Duration{}
	dbCPU := map[int][]time.Duration{}
	fnCPU := map[int][]time.Duration{}
	invocations := map[int][]int{}
	for range reps {
		for _, n := range shardCounts {
			reset(today)
			db0, fn0 := serverCPU(postmaster), selfCPU()
			took, calls := untilDone(today, n)
			dbCPU[n] = append(dbCPU[n], serverCPU(postmaster)-db0)
			fnCPU[n] = append(fnCPU[n], selfCPU()-fn0)
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
		db, fn := median(dbCPU[n]), median(fnCPU[n])
		fmt.Fprintf(&out, "| %d | %.2f s | %s | %v | %.2f× | %.2f s | %.2f | %.2f s |\n", n, medians[n].Seconds(), strings.Join(runs, ", "),
			invocations[n], medians[1].Seconds()/medians[n].Seconds(), db.Seconds(), db.Seconds()/medians[n].Seconds(), fn.Seconds())
	}
	t.Log(out.String())
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on Linux).
const clockTick = 10 * time.Millisecond

// statFields reads /proc/<pid>/stat after the command name: field 4 (ppid) is index 1, utime 14 is 11,
// stime 12, cutime 13, cstime 14.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

func parentOf(pid int) int {
	f := statFields(pid)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// serverCPU is the CPU time of the PostgreSQL server whose postmaster is pid: the postmaster's own and
// its reaped children's, plus every live child's (backends, background workers). 0 when /proc is missing.
func serverCPU(postmaster int) time.Duration {
	ticks := func(f []string, from, to int) int64 {
		var n int64
		for i := from; i <= to && i < len(f); i++ {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			n += v
		}
		return n
	}
	total := ticks(statFields(postmaster), 11, 14)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == postmaster {
			continue
		}
		if f := statFields(pid); len(f) > 14 && f[1] == strconv.Itoa(postmaster) {
			total += ticks(f, 11, 12)
		}
	}
	return time.Duration(total) * clockTick
}

// selfCPU is this process's CPU time (user and system): the engine's side, the function's share.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
