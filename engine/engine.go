package engine

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
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

// finalWriteTimeout bounds each write made after the budget is spent (release, report, remaining count).
const finalWriteTimeout = 3 * time.Second

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

// run is the state of one Run call.
type run struct {
	id       string
	date     time.Time
	dryRun   bool
	part     Part // its Shard Normal: 1 of 1 for the whole range
	deadline time.Time
	margin   time.Duration   // kept free before the deadline
	ctx      context.Context // bounded by the deadline: batches run under it

	mu  sync.Mutex
	err error // the first error that is not a budget stop
}

// final returns a context for a write made after the budget may be spent (a release, a report, a count):
// the run's values without its cancellation, bounded by finalWriteTimeout.
func (r *run) final() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.ctx), finalWriteTimeout)
}

// setErr remembers err when it is the run's first error.
func (r *run) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// Run evaluates the requested scenarios for one evaluation date within the budget: the earlier of ctx's
// deadline and Options.Budget. It returns the report (also stored with the run) and, when a scenario could
// not be evaluated because of an error, that error as well; an *Error with Code Invalid means nothing was
// done. Running out of budget is not an error: the report says partial.
//
// Cancelling ctx stops the run like a spent budget. Adapters therefore pass a context detached from the
// client's connection (keeping only the budget), so a caller that hangs up does not cut a run half-way.
func (e *Engine) Run(ctx context.Context, req Request) (Report, error) {
	started := time.Now()
	deadline := started.Add(e.opt.Budget)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	rep := Report{Trigger: req.trigger(), DryRun: req.DryRun, Shard: req.Shard.String(), Slot: req.Slot.String(),
		StartedAt: started.UTC(), BudgetMS: deadline.Sub(started).Milliseconds(),
		Scenarios: []ScenarioReport{}}
	if req.DryRun && len(e.opt.Configuration) > 0 {
		rep.Configuration = maps.Clone(e.opt.Configuration)
	}

	// The slot first: the evaluation date is its local date.
	if err := validateSlot(req); err != nil {
		return rep, err
	}
	date, err := req.evaluationDate(e.opt.Now(), e.opt.Location)
	if err != nil {
		return rep, err
	}
	rep.EvaluationDate = date.Format(DateLayout)
	if err := validateScenarios(req.Scenarios); err != nil {
		return rep, err
	}
	if err := validateShard(req); err != nil {
		return rep, err
	}
	if err := e.validateDelivery(req); err != nil {
		return rep, err
	}
	runCtx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	// The budget ran out before the run could even be recorded: nothing was done, nothing is lost.
	budgetSpent := func() (Report, error) {
		rep.Status = Partial
		rep.Warnings = append(rep.Warnings, "the budget ran out before the run started; call again")
		rep.DurationMS = time.Since(started).Milliseconds()
		return rep, nil
	}
	scenarios := req.Scenarios
	if len(scenarios) == 0 && !req.DeliverOnly {
		if scenarios, err = e.store.EnabledScenarios(runCtx); err != nil {
			if runCtx.Err() != nil {
				return budgetSpent()
			}
			return rep, err
		}
	}
	r := &run{id: newRunID(), date: date, dryRun: req.DryRun, part: Part{Slot: req.Slot, Shard: req.Shard.Normal()}, deadline: deadline, ctx: runCtx,
		margin: min(e.opt.Margin, deadline.Sub(started)/4)}
	rep.RunID = r.id
	// The request's own fields (a Lambda request id, a Cloud Trace id) come first, on every line of the run.
	log := e.log.With(append(LogFields(ctx), zap.String("run_id", r.id), zap.String("evaluation_date", rep.EvaluationDate))...)
	if rep.Shard != "" {
		log = log.With(zap.String("shard", rep.Shard))
	}
	if rep.Slot != "" {
		log = log.With(zap.String("slot", rep.Slot))
	}
	if err := e.store.StartRun(runCtx, RunStart{RunID: r.id, Date: date, Trigger: rep.Trigger, DryRun: req.DryRun, Request: req}); err != nil {
		if runCtx.Err() == nil {
			return rep, err
		}
		return budgetSpent()
	}
	startFields := []zap.Field{zap.Strings("scenarios", scenarios), zap.Bool("dry_run", req.DryRun),
		zap.Int64("budget_ms", rep.BudgetMS), zap.String("trigger", rep.Trigger)}
	if rep.Configuration != nil {
		startFields = append(startFields, zap.Any("configuration", rep.Configuration))
	}
	log.Info("run started", startFields...)

	// The source contract, once per run: a run over a source that does not hold fails loudly instead of
	// completing with nobody evaluated.
	if err := e.store.CheckSource(runCtx); err != nil {
		if runCtx.Err() != nil {
			// Out of budget before any work: nothing is lost, the next call checks again.
			rep.Status = Partial
			rep.Warnings = append(rep.Warnings, "the budget ran out while checking the source contract; call again")
			rep.DurationMS = time.Since(started).Milliseconds()
			fctx, fcancel := r.final()
			defer fcancel()
			if ferr := e.store.FinishRun(fctx, rep); ferr != nil {
				log.Error("storing the run report failed", zap.Error(ferr))
			}
			return rep, nil
		}
		return e.failRun(r, rep, started, err, log)
	}

	rep.Scenarios = make([]ScenarioReport, len(scenarios))
	slots := make(chan struct{}, e.opt.Parallelism)
	var wg sync.WaitGroup
	for i, name := range scenarios {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			rep.Scenarios[i] = e.runScenario(r, name, log)
		}()
	}
	wg.Wait()
	rep.Status = overallStatus(rep.Scenarios)
	switch {
	case req.DryRun:
	case e.opt.Sender != nil:
		rep.Delivery = e.deliver(r, log)
		rep.Status = withDelivery(rep.Status, rep.Delivery)
	case e.opt.Delivery.Off:
		rep.Delivery = e.deliveryOff(log)
	}
	rep.DurationMS = time.Since(started).Milliseconds()

	fctx, fcancel := r.final()
	defer fcancel()
	if err := e.store.FinishRun(fctx, rep); err != nil {
		log.Error("storing the run report failed", zap.Error(err))
		r.setErr(err)
	}
	t := rep.Totals()
	log.Info("run finished", zap.String("status", string(rep.Status)), zap.Int("evaluated", t.Evaluated),
		zap.Int("notified", t.Notified), zap.Int64("duration_ms", rep.DurationMS))
	return rep, r.err
}

// failRun records a run that failed before any scenario started (the source contract did not hold) and
// returns err with the failed report.
func (e *Engine) failRun(r *run, rep Report, started time.Time, err error, log *zap.Logger) (Report, error) {
	rep.Status = Failed
	rep.ErrorCode, rep.Problem = ErrorCode(err), ErrorMessage(err)
	rep.DurationMS = time.Since(started).Milliseconds()
	log.Error("run failed before evaluating", zap.String("error_code", string(rep.ErrorCode)),
		zap.String("problem", rep.Problem), zap.Error(err))
	fctx, fcancel := r.final()
	defer fcancel()
	if ferr := e.store.FinishRun(fctx, rep); ferr != nil {
		log.Error("storing the run report failed", zap.Error(ferr))
	}
	return rep, err
}

// runScenario claims one scenario's checkpoint and evaluates batches until done or out of budget.
func (e *Engine) runScenario(r *run, name string, log *zap.Logger) ScenarioReport {
	sr := ScenarioReport{Scenario: name}
	log = log.With(zap.String("scenario", name))
	started := time.Now()

	cursor := ""
	lease := func() time.Duration { return min(time.Until(r.deadline)+finalWriteTimeout, e.opt.Lease) }
	claimed := time.Now()
	if !r.dryRun {
		c, err := e.store.Claim(r.ctx, r.id, r.date, name, r.part, lease())
		if err != nil && r.ctx.Err() != nil {
			return e.notStarted(r, sr, log)
		}
		if err != nil {
			return e.fail(r, sr, err, log)
		}
		sr.TotalEvaluated, sr.TotalNotified = c.Evaluated, c.Notified
		switch c.Outcome {
		case Done:
			sr.Status = AlreadyCompleted
			return sr
		case Held:
			sr.Status, sr.Message = Busy, "another run is evaluating this scenario for this date"
			return sr
		case OtherLayout:
			sr.Status = Busy
			sr.Message = fmt.Sprintf("this date's evaluation of this scenario is split into %d shards; call each shard k/%d (scheduler.invoke(..., shards => %d)) until it is done",
				c.Shards, c.Shards, c.Shards)
			return sr
		}
		cursor = c.Cursor
		defer func() {
			ctx, cancel := r.final()
			defer cancel()
			if err := e.store.Release(ctx, r.id, r.date, name, r.part); err != nil {
				log.Warn("releasing the checkpoint lease failed; it expires by itself", zap.Error(err))
			}
		}()
	}

	p := e.pacerFor(name)
	defer e.remember(name, p)
	for sr.Status == "" {
		n := p.plan(time.Until(r.deadline) - r.margin)
		if n == 0 {
			sr.Status, sr.Message = Partial, "budget spent; the next call resumes from the checkpoint"
			break
		}
		if !r.dryRun && time.Since(claimed) > e.opt.Lease/2 {
			c, err := e.store.Claim(r.ctx, r.id, r.date, name, r.part, lease())
			if err == nil && (c.Outcome != Claimed || c.Cursor != cursor) {
				sr.Status, sr.Message = Busy, "another run took over this scenario"
				break
			}
			claimed = time.Now() // on an error the batch below meets the same fault and reports it
		}
		t0 := time.Now()
		res, err := e.store.EvaluateBatch(r.ctx, Batch{RunID: r.id, Scenario: name, Date: r.date, Part: r.part, After: cursor, Limit: n, DryRun: r.dryRun})
		took := time.Since(t0)
		switch {
		case err != nil && r.ctx.Err() != nil:
			sr.Status, sr.Message = Partial, "budget ran out during a batch; the batch was rolled back and resumes next call"
			p.cut(n, took)
			log.Warn("batch cut by the deadline", zap.Int("limit", n), zap.Duration("took", took))
		case IsLeaseLost(err):
			sr.Status, sr.Message = Busy, "another run took over this scenario"
		case err != nil:
			sr = e.fail(r, sr, err, log)
		default:
			p.observe(res.Evaluated, took)
			sr.Batches++
			sr.Evaluated += res.Evaluated
			sr.Notified += res.Notified
			sr.SuppressedCooldown += res.SuppressedCooldown
			sr.Duplicates += res.Duplicates
			sr.Conflicts += res.Conflicts
			cursor = res.NextCursor
			if res.Conflicts > 0 {
				log.Warn("notifications skipped: another writer created them first", zap.Int("conflicts", res.Conflicts))
			}
			log.Debug("batch", zap.Int("limit", n), zap.Int("evaluated", res.Evaluated),
				zap.Int("notified", res.Notified), zap.Duration("took", took))
			if res.Done {
				sr.Status = Completed
			}
		}
	}
	if !r.dryRun {
		sr.TotalEvaluated += sr.Evaluated
		sr.TotalNotified += sr.Notified
	}
	sr.DurationMS = time.Since(started).Milliseconds()

	ctx, cancel := r.final()
	defer cancel()
	if sr.Status != Completed {
		if rem, err := e.store.Remaining(ctx, r.part, cursor); err == nil {
			sr.Remaining = rem
		}
	} else if !r.dryRun && r.part.Shard.Whole() && r.part.Slot.Whole() && cursor != "" && sr.Evaluated == sr.TotalEvaluated {
		// A complete evaluation of every mentor in one run: remember its size and time for operators and sizing.
		if err := e.store.RecordScenarioStats(ctx, name, sr.Evaluated, time.Duration(sr.DurationMS)*time.Millisecond); err != nil {
			log.Warn("recording scenario stats failed", zap.Error(err))
		}
	}
	log.Info("scenario finished", zap.String("status", string(sr.Status)), zap.Int("evaluated", sr.Evaluated),
		zap.Int("notified", sr.Notified), zap.Int("suppressed_cooldown", sr.SuppressedCooldown),
		zap.Int("duplicates", sr.Duplicates), zap.Int("batches", sr.Batches), zap.Int64("remaining", sr.Remaining))
	return sr
}

// notStarted reports a scenario the run had no budget left to start: what its checkpoint holds, read
// without its lease, so that the report still says how much is done and how much remains.
func (e *Engine) notStarted(r *run, sr ScenarioReport, log *zap.Logger) ScenarioReport {
	sr.Status, sr.Message = Partial, "budget spent before this scenario started; the next call does it"
	ctx, cancel := r.final()
	defer cancel()
	p, err := e.store.Progress(ctx, r.date, sr.Scenario, r.part)
	if err == nil {
		sr.TotalEvaluated, sr.TotalNotified = p.Evaluated, p.Notified
		if p.Done {
			sr.Status, sr.Message = AlreadyCompleted, ""
			return sr
		}
		sr.Remaining, err = e.store.Remaining(ctx, r.part, p.Cursor)
	}
	if err != nil {
		log.Warn("reading the progress of a scenario not started failed", zap.String("scenario", sr.Scenario), zap.Error(err))
	}
	return sr
}

// fail marks a scenario failed and remembers the run's first error.
func (e *Engine) fail(r *run, sr ScenarioReport, err error, log *zap.Logger) ScenarioReport {
	r.setErr(err)
	sr.Status = Failed
	sr.Message = "evaluation failed; the next call resumes from the checkpoint"
	if ErrorCode(err) == Unavailable {
		sr.Message = "database unavailable; the next call resumes from the checkpoint"
	}
	log.Error("scenario failed", zap.Error(err))
	return sr
}

// newRunID returns a random (version 4) UUID.
func newRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
