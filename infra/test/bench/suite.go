package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/functions/config"
	"github.com/peermentor/scenario-scheduler/functions/wire"
	"github.com/peermentor/scenario-scheduler/infra/dev/benchdata"
)

// Config says what to measure.
type Config struct {
	// ServerURL is the PostgreSQL server; each size lives in its own database on it.
	ServerURL string
	Sizes     []int
	Seed      uint64
	// Reps is the number of repetitions of each timed measurement (default 5), counted after the warm-up.
	Reps int
	// MaxWarmup bounds the warm-up repetitions run before the counted ones, until two consecutive ones agree
	// within 10 % (default 5; negative: none).
	MaxWarmup int
	// WriteRows and WriteBulk size the change feed's write cost: single-row inserts in a loop (default
	// 2,000) and the rows of one bulk insert (default 100,000). WriteBulk negative: not measured.
	WriteRows, WriteBulk int
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
	// Options: their batch options (MaxBatch, TargetBatch, Parallelism) are passed to the engine in-process
	// and, as flags, to the function process; the rest is ignored.
	Options engine.Options
	// OutcomesOnly stops each size after the first run and the outcome computation over its nudges (a
	// quick measurement of the effectiveness report; the other figures stay empty).
	OutcomesOnly bool
	// NoIncremental leaves out the incremental comparison; IncrementalOnly measures the first run and the
	// incremental comparison and nothing else.
	NoIncremental, IncrementalOnly bool
	// Log receives progress lines.
	Log io.Writer
}

func (c *Config) defaults() {
	if c.Reps <= 0 {
		c.Reps = 5
	}
	switch {
	case c.MaxWarmup == 0:
		c.MaxWarmup = 5
	case c.MaxWarmup < 0:
		c.MaxWarmup = 0
	}
	if c.WriteRows <= 0 {
		c.WriteRows = 2_000
	}
	if c.WriteBulk == 0 {
		c.WriteBulk = 100_000
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
	Parallelism int `json:"parallelism"`
	// OutcomesOnly: the run stopped each size after the first run and the outcome computation
	// (Config.OutcomesOnly); the daily figures were not measured.
	OutcomesOnly bool         `json:"outcomes_only,omitempty"`
	Sizes        []SizeResult `json:"sizes"`
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
	res := &Results{Date: time.Now().UTC().Format(time.DateOnly), Parallelism: cfg.Options.Parallelism, OutcomesOnly: cfg.OutcomesOnly,
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
	cfg     Config
	pool    *pgxpool.Pool // for resets, the floor and the naive loop
	dbURL   string        // the database the Go benchmarks wire their engine to
	log     io.Writer
	closers []func()
}

// clockAt is the engine's clock in the benchmark: 07:00 UTC on day (after quiet hours in Oslo), running
// from there. The function process gets the same clock from its -today flag.
func clockAt(day time.Time) func() time.Time {
	start := time.Now()
	return func() time.Time { return day.Add(7*time.Hour + time.Since(start)) }
}

// engineFor wires the scheduler over url as every entry point does (functions/wire) and returns its engine
// for in-process runs: the log sender delivers, the clock is on day, cfg's batch options apply, with budget
// and margin (0: the engine's), then mods. Its pool is closed with the size.
func (b *sizeBench) engineFor(ctx context.Context, url string, day time.Time, budget, margin time.Duration, mods ...func(*engine.Options)) (*engine.Engine, error) {
	c := config.Config{DatabaseURL: url, Secret: serverSecret, Deadline: budget, Push: config.Push{Sender: config.SenderLog}}
	s, err := wire.New(ctx, c, runLogger(), wire.Store(func(p *postgres.Config) { p.Lazy = false }),
		wire.Engine(func(o *engine.Options) {
			o.MaxBatch, o.TargetBatch, o.Parallelism = b.cfg.Options.MaxBatch, b.cfg.Options.TargetBatch, b.cfg.Options.Parallelism
			o.Margin, o.Now = margin, clockAt(day)
			for _, m := range mods {
				m(o)
			}
		}))
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, s.Close)
	return s.Engine, nil
}

// close releases the pools engineFor opened.
func (b *sizeBench) close() {
	for _, c := range b.closers {
		c()
	}
	b.closers = nil
}

// runLogger logs as the function process does (JSON, info level, each push a line), into nothing: the
// in-process runs pay for the same log lines as the runs over HTTP.
func runLogger() *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel))
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

// sent counts the pushes the invocations' delivery steps sent.
func (iv invocation) sent() int {
	n := 0
	for _, r := range iv.reports {
		if r.Delivery != nil {
			n += r.Delivery.Sent
		}
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
	return calling(eng, engine.Request{EvaluationDate: d.Format(engine.DateLayout)})
}

// calling is one in-process call of eng with req, timed.
func calling(eng *engine.Engine, req engine.Request) func(context.Context) (engine.Report, time.Duration, error) {
	return func(ctx context.Context) (engine.Report, time.Duration, error) {
		t0 := time.Now()
		rep, err := eng.Run(ctx, req)
		return rep, time.Since(t0), err
	}
}

// untilDone calls one until the report says completed (at most 100 invocations).
func untilDone(ctx context.Context, one func(context.Context) (engine.Report, time.Duration, error)) (invocation, error) {
	var iv invocation
	for iv.invocations < 100 {
		rep, took, err := one(ctx)
		if err != nil {
			// Say which invocation failed and what its report said: a run can fail beside a partial report.
			return iv, fmt.Errorf("invocation %d (%v, report %s): %w", iv.invocations+1, took.Round(time.Millisecond),
				cmp.Or(string(rep.Status), "none"), err)
		}
		iv.invocations++
		iv.took += took
		iv.reports = append(iv.reports, rep)
		switch rep.Status {
		case engine.Completed, engine.AlreadyCompleted:
			return iv, nil
		case engine.Partial:
			// A cancelled run (Ctrl-C) answers partial at once: stop rather than call it again 100 times.
			if err := ctx.Err(); err != nil {
				return iv, err
			}
		default:
			return iv, fmt.Errorf("run ended %s", rep.Status)
		}
	}
	return iv, fmt.Errorf("not done after %d invocations", iv.invocations)
}
