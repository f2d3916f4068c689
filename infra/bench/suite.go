package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/benchdata"
)

// Config says what to measure.
type Config struct {
	// ServerURL is the PostgreSQL server; each size lives in its own database on it.
	ServerURL string
	Sizes     []int
	Seed      uint64
	// Reps is the number of repetitions of each timed measurement (default 5).
	Reps int
	// NaiveFull: sizes with at most this many active mentors run the naive loop over all of them; larger
	// ones time NaiveSample mentors and extrapolate linearly.
	NaiveFull, NaiveSample int
	// Budget of one invocation (default 30 s).
	Budget time.Duration
	// RTTs are the round-trip times between function and database at which the engine and the naive loop
	// are compared through a latency-injecting proxy (default 0, 1 ms and 5 ms), for sizes of at most
	// NetworkMaxMentors active mentors (default 10,000).
	RTTs              []time.Duration
	NetworkMaxMentors int
	// Options are passed to the engine (batch sizing) in-process and, where they map, to the server.
	Options engine.Options
	// Log receives progress lines.
	Log io.Writer
}

func (c *Config) defaults() {
	if c.Reps <= 0 {
		c.Reps = 5
	}
	if c.NaiveFull <= 0 {
		c.NaiveFull = 20_000
	}
	if c.NaiveSample <= 0 {
		c.NaiveSample = 10_000
	}
	if c.Budget <= 0 {
		c.Budget = engine.DefaultBudget
	}
	if c.RTTs == nil {
		c.RTTs = []time.Duration{0, time.Millisecond, 5 * time.Millisecond}
	}
	if c.NetworkMaxMentors <= 0 {
		c.NetworkMaxMentors = 10_000
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// Results is one benchmark run.
type Results struct {
	Date       string `json:"date"`
	Host       Host   `json:"host"`
	Conditions string `json:"conditions,omitempty"`
	// Parallelism is the engine's Options.Parallelism during the run (0: the default, sequential).
	Parallelism int          `json:"parallelism"`
	Sizes       []SizeResult `json:"sizes"`
}

// Host describes the machine.
type Host struct {
	CPUs     int    `json:"cpus"`
	GoVer    string `json:"go"`
	Postgres string `json:"postgres"`
	LoadAvg  string `json:"load_average_at_start"`
}

// evalDay is the evaluation date of the timed daily run; the day before it is the "first run".
var evalDay = benchdata.Today

// Run measures every size.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	cfg.defaults()
	res := &Results{Date: time.Now().UTC().Format(time.DateOnly), Parallelism: cfg.Options.Parallelism,
		Host: Host{CPUs: runtime.NumCPU(), GoVer: runtime.Version(), LoadAvg: loadAvg()}}
	dir, err := os.MkdirTemp("", "bench-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(cfg.Log, "bench: building the function binary")
	bin, err := buildServer(ctx, dir)
	if err != nil {
		return nil, err
	}
	for _, n := range cfg.Sizes {
		fmt.Fprintf(cfg.Log, "bench: dataset of %d mentors\n", n)
		dbURL, _, err := benchdata.Ensure(ctx, cfg.ServerURL, benchdata.Spec{Mentors: n, Seed: cfg.Seed}, false, cfg.Log)
		if err != nil {
			return nil, err
		}
		sr, err := runSize(ctx, cfg, bin, dbURL, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", benchdata.Label(n), err)
		}
		if res.Host.Postgres == "" {
			res.Host.Postgres = sr.postgres
		}
		res.Sizes = append(res.Sizes, *sr)
	}
	return res, nil
}

func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	return strings.Join(f[:min(3, len(f))], " ")
}

// sizeBench is the state of one size's measurements.
type sizeBench struct {
	cfg   Config
	pool  *pgxpool.Pool
	store *postgres.Store
	log   io.Writer
}

// engineFor returns an in-process engine with the benchmark's clock and cfg's options, with budget b.
func (b *sizeBench) engineFor(budget time.Duration, margin time.Duration) *engine.Engine {
	o := b.cfg.Options
	o.Budget, o.Margin = budget, margin
	o.Now = func() time.Time { return evalDay.Add(7 * time.Hour) }
	return engine.New(b.store, o)
}

// reset forgets one evaluation date's notifications and checkpoints, so it can be evaluated again.
func (b *sizeBench) reset(ctx context.Context, d time.Time) error {
	_, err := b.pool.Exec(ctx, `delete from public.notifications where evaluation_date = $1;`, d)
	if err == nil {
		_, err = b.pool.Exec(ctx, `delete from scheduler.checkpoints where evaluation_date = $1`, d)
	}
	return err
}

// invocation is one call of the function until the date is done, possibly over several invocations.
type invocation struct {
	took        time.Duration
	invocations int
	reports     []engine.Report
}

func (iv invocation) notified() int {
	n := 0
	for _, r := range iv.reports {
		n += r.Totals().Notified
	}
	return n
}

// scenarioMS sums one scenario's durations over the invocations.
func (iv invocation) scenarioMS(name string) time.Duration {
	var d time.Duration
	for _, r := range iv.reports {
		for _, s := range r.Scenarios {
			if s.Scenario == name {
				d += time.Duration(s.DurationMS) * time.Millisecond
			}
		}
	}
	return d
}

// inProcess is one in-process call of eng for date d, timed.
func inProcess(eng *engine.Engine, d time.Time) func(context.Context) (engine.Report, time.Duration, error) {
	return func(ctx context.Context) (engine.Report, time.Duration, error) {
		t0 := time.Now()
		rep, err := eng.Run(ctx, engine.Request{EvaluationDate: d.Format(engine.DateLayout)})
		return rep, time.Since(t0), err
	}
}

// untilDone calls one until the report says completed (at most 100 invocations).
func untilDone(ctx context.Context, one func(context.Context) (engine.Report, time.Duration, error)) (invocation, error) {
	var iv invocation
	for iv.invocations < 100 {
		rep, took, err := one(ctx)
		if err != nil {
			return iv, err
		}
		iv.invocations++
		iv.took += took
		iv.reports = append(iv.reports, rep)
		switch rep.Status {
		case engine.Completed, engine.AlreadyCompleted:
			return iv, nil
		case engine.Partial:
		default:
			return iv, fmt.Errorf("run ended %s", rep.Status)
		}
	}
	return iv, fmt.Errorf("not done after %d invocations", iv.invocations)
}
