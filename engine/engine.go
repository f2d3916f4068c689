package engine

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// DefaultBudget is the product's answer time: a run ends, checkpointed, within 30 s. It is the one place
// the figure is written; the HTTP contract, the configuration (the default and ceiling of
// SCHEDULER_DEADLINE) and the benchmark refer to it. A shorter platform timeout lowers a run's budget.
const DefaultBudget = 30 * time.Second

// Options configure an Engine. Zero values take the defaults noted.
type Options struct {
	// Location gives "today" and the local dates of a run (default Europe/Oslo).
	Location *time.Location
	// Budget bounds a run when the caller's context has no earlier deadline (default DefaultBudget).
	Budget time.Duration
	// Margin is kept free at the end of the budget for the final writes (default 1 s, and at most a quarter
	// of a run's budget): no batch is started that is expected to end inside it.
	Margin time.Duration
	// MinBatch, MaxBatch bound batch sizes (default 100 and 20,000 mentors).
	MinBatch, MaxBatch int
	// TargetBatch is the batch duration aimed for (default 250 ms): short enough to check the budget often,
	// long enough to amortise round trips.
	TargetBatch time.Duration
	// Lease is how long a run holds a scenario's checkpoint without renewing it (default 10 s). The run
	// renews it between batches; a run that died loses it at most Lease later, and another run takes over.
	Lease time.Duration
	// InitialPerMentor is the cost assumed for one mentor before the first batch is measured (default 50 µs).
	InitialPerMentor time.Duration
	// Now is the clock that decides which day is today (default time.Now). Budgets and durations use real
	// time, like the context deadlines they must agree with.
	Now func() time.Time
	// Logger receives progress and warnings (default: none).
	Logger *zap.Logger
	// Parallelism is how many scenarios are evaluated at the same time, each on its own connection
	// (default 1: one after another). Reports keep the scenarios' order either way.
	Parallelism int
	// Sender delivers the outbox after evaluation (see delivery.go); nil: no push delivery.
	Sender Sender
	// Delivery tunes the delivery step.
	Delivery DeliveryOptions
	// Configuration maps each configuration variable's name to where its value came from ("environment",
	// "default", "unset"; never a value). Dry runs report it (Report.Configuration) and log it with "run
	// started", so that a verification call shows which variables the function runs with.
	Configuration map[string]string
}

func (o Options) withDefaults() Options {
	if o.Location == nil {
		o.Location = mustOslo()
	}
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.Margin <= 0 {
		o.Margin = time.Second
	}
	if o.MinBatch <= 0 {
		o.MinBatch = 100
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 20_000
	}
	if o.TargetBatch <= 0 {
		o.TargetBatch = 250 * time.Millisecond
	}
	if o.Lease <= 0 {
		o.Lease = 10 * time.Second
	}
	if o.InitialPerMentor <= 0 {
		o.InitialPerMentor = 50 * time.Microsecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 1
	}
	o.Delivery = o.Delivery.withDefaults()
	return o
}

func mustOslo() *time.Location {
	loc, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		panic("engine: no time zone data for Europe/Oslo; import time/tzdata in main: " + err.Error())
	}
	return loc
}

// FinalWindow bounds the writes a run makes after its budget is spent (releases, remaining counts, the
// report), all of them together: a run answers at most FinalWindow after its budget. A deployment's timeout
// should leave that much above the budget (the Terraform roots' default is 35 s for the 30 s budget).
const FinalWindow = 3 * time.Second

// Engine evaluates scenarios. It is safe for concurrent use.
type Engine struct {
	store Store
	opt   Options
	log   *zap.Logger

	mu    sync.Mutex
	rates map[string]time.Duration // per scenario: the estimate of a last run cut by the deadline (see pacerFor)
}

// New returns an Engine over store.
func New(store Store, opt Options) *Engine {
	opt = opt.withDefaults()
	return &Engine{store: store, opt: opt, log: opt.Logger}
}

// pacerFor returns a pacer for a run of scenario. After a run of it in this process had a batch cut by
// the deadline, the next run starts from that run's estimate, so that a warm function on a slow database
// starts with a batch that fits instead of losing the same batch call after call. Only a cut is carried
// over, and only to the next run: a run without a cut starts from the defaults again.
func (e *Engine) pacerFor(scenario string) *pacer {
	p := newPacer(e.opt)
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.rates[scenario]; ok {
		p.perMentor = r
	}
	return p
}

// remember keeps a run's final estimate for the next run of the scenario when a batch was cut, and
// forgets it otherwise.
func (e *Engine) remember(scenario string, p *pacer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !p.wasCut {
		delete(e.rates, scenario)
		return
	}
	if e.rates == nil {
		e.rates = map[string]time.Duration{}
	}
	e.rates[scenario] = p.perMentor
}

// Location is the time zone the engine's dates are in.
func (e *Engine) Location() *time.Location { return e.opt.Location }
