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

// run is the state of one Run call.
type run struct {
	id       string
	started  time.Time
	date     time.Time
	dryRun   bool
	part     Part // its Shard Normal: 1 of 1 for the whole range
	deadline time.Time
	margin   time.Duration   // kept free before the deadline
	ctx      context.Context // bounded by the deadline: batches run under it

	mu       sync.Mutex
	err      error     // the first error that is not a budget stop
	finalEnd time.Time // the end of the final writes' window, set by the first of them
}

// final returns a context for a write made after the budget may be spent (a release, a report, a count):
// the run's values without its cancellation, bounded by one window that all of the run's final writes
// share: FinalWindow after the later of the deadline and the first final write. However many scenarios were
// cut or never started, the answer therefore comes at most FinalWindow after the budget (two suites on two
// cores made a chain of writes each bounded by itself answer 1.6 s after a 100 ms budget).
func (r *run) final() (context.Context, context.CancelFunc) {
	r.mu.Lock()
	if r.finalEnd.IsZero() {
		r.finalEnd = later(time.Now(), r.deadline).Add(FinalWindow)
	}
	end := r.finalEnd
	r.mu.Unlock()
	return context.WithDeadline(context.WithoutCancel(r.ctx), end)
}

// countShare is the part of the final window that the counts of remaining mentors may take, all of them
// together: they only inform the report, and the releases of the checkpoints and the report's own write need
// the rest. At 1M mentors one count took the whole window, left those writes none, and the invocation failed
// beside a partial report.
const countShare = FinalWindow / 3

// count returns a context for a count made after the budget may be spent: the final window's, ending
// countShare after the window's start, whatever counts came before.
func (r *run) count() (context.Context, context.CancelFunc) {
	ctx, cancel := r.final()
	r.mu.Lock()
	end := r.finalEnd.Add(countShare - FinalWindow)
	r.mu.Unlock()
	bounded, cancelBounded := context.WithDeadline(ctx, end)
	return bounded, func() { cancelBounded(); cancel() }
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// setErr remembers err when it is the run's first error.
func (r *run) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// stopped reports whether err is the run's own stop, not a fault: its deadline passed or its caller's
// context was cancelled while the statement ran. Whatever the statement answered then (a context error, or
// the server's "canceling statement due to user request", SQLSTATE 57014, for a statement cancelled on the
// server), nothing it did was committed: a batch rolls back with its checkpoint, so the next call resumes
// exactly where this one stopped. Such a stop is answered partial, never failed (an HTTP 500), because it
// loses nothing; the work is checkpointed, and calling again is the remedy. A statement that fails while
// the run's context is alive is a fault, whatever its SQLSTATE; that holds because the Postgres store never
// reuses a connection it sent a cancel request for, so a cancel request that arrives late cannot interrupt
// a statement of a live run (docs/architecture.md, "A cancelled run answers partial").
func (r *run) stopped(err error) bool { return err != nil && r.ctx.Err() != nil }

// Run evaluates the requested scenarios for one evaluation date within the budget: the earlier of ctx's
// deadline and Options.Budget. It returns the report (also stored with the run) and, when a scenario could
// not be evaluated because of an error, that error as well; an *Error with Code Invalid means nothing was
// done. Running out of budget is not an error: the report says partial.
//
// Cancelling ctx stops the run like a spent budget: partial, no error (see run.stopped). Adapters
// nevertheless pass a context detached from the client's connection (keeping only the budget), so a caller
// that hangs up does not cut a run half-way.
//
// The phases, each a function below: resolve the request, list the scenarios, record the run, check the
// source contract, evaluate each scenario (claim, batches, release: runScenario), deliver, store the report.
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
	date, part, err := e.resolve(req)
	if !date.IsZero() {
		rep.EvaluationDate = date.Format(DateLayout)
	}
	if err != nil {
		return rep, err
	}
	runCtx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	r := &run{id: newRunID(), started: started, date: date, dryRun: req.DryRun, part: part, deadline: deadline,
		ctx: runCtx, margin: min(e.opt.Margin, deadline.Sub(started)/4)}

	scenarios, err := e.scenarios(r, req)
	if err != nil {
		return e.notRecorded(r, rep, err)
	}
	rep.RunID = r.id
	log := e.runLogger(ctx, r, rep)
	if err := e.recordRun(r, req, rep); err != nil {
		return e.notRecorded(r, rep, err)
	}
	startFields := []zap.Field{zap.Strings("scenarios", scenarios), zap.Bool("dry_run", req.DryRun),
		zap.Int64("budget_ms", rep.BudgetMS), zap.String("trigger", rep.Trigger)}
	if rep.Configuration != nil {
		startFields = append(startFields, zap.Any("configuration", rep.Configuration))
	}
	log.Info("run started", startFields...)
	if err := e.store.CheckSource(runCtx); err != nil {
		return e.sourceNotChecked(r, rep, err, log)
	}

	rep.Scenarios = e.evaluate(r, scenarios, log)
	rep.Status = overallStatus(rep.Scenarios)
	if !req.DryRun {
		e.deliveryStep(r, &rep, log)
	}
	e.storeReport(r, &rep, log)
	return rep, r.err
}

// resolve checks the request and resolves what the run works on: the evaluation date (today, or the
// requested one, in the slot's time zone or the engine's) and the part of the mentors (Part, its shard
// Normal). The slot and the shard are judged here once; every later phase uses the part. The date is
// returned as soon as it is known, for the report, even when a later check refuses the request.
func (e *Engine) resolve(req Request) (time.Time, Part, error) {
	zone, err := req.zone(e.opt.Location)
	if err != nil {
		return time.Time{}, Part{}, err
	}
	date, err := req.evaluationDate(e.opt.Now(), zone)
	if err != nil {
		return time.Time{}, Part{}, err
	}
	if err := validateScenarios(req.Scenarios); err != nil {
		return date, Part{}, err
	}
	if err := validateShard(req); err != nil {
		return date, Part{}, err
	}
	if err := e.validateDelivery(req); err != nil {
		return date, Part{}, err
	}
	return date, Part{Slot: req.Slot, Shard: req.Shard.Normal()}, nil
}

// scenarios lists the scenarios the run evaluates: the requested ones, or every enabled one (none for a
// delivery-only run).
func (e *Engine) scenarios(r *run, req Request) ([]string, error) {
	if len(req.Scenarios) > 0 || req.DeliverOnly {
		return req.Scenarios, nil
	}
	return e.store.EnabledScenarios(r.ctx)
}

// runLogger is the run's logger: the request's own fields (a Lambda request id, a Cloud Trace id) first, on
// every line of the run, then the run's id, date, shard and slot.
func (e *Engine) runLogger(ctx context.Context, r *run, rep Report) *zap.Logger {
	log := e.log.With(append(LogFields(ctx), zap.String("run_id", r.id), zap.String("evaluation_date", rep.EvaluationDate))...)
	if rep.Shard != "" {
		log = log.With(zap.String("shard", rep.Shard))
	}
	if rep.Slot != "" {
		log = log.With(zap.String("slot", rep.Slot))
	}
	return log
}

// recordRun stores the run's start, before any work.
func (e *Engine) recordRun(r *run, req Request, rep Report) error {
	return e.store.StartRun(r.ctx, RunStart{RunID: r.id, Date: r.date, Trigger: rep.Trigger, DryRun: req.DryRun, Request: req})
}

// notRecorded answers a run that stopped before it was recorded: partial when its budget ran out (or its
// caller cancelled it) first, since nothing was done and nothing is lost; otherwise the error.
func (e *Engine) notRecorded(r *run, rep Report, err error) (Report, error) {
	if !r.stopped(err) {
		return rep, err
	}
	rep.Status = Partial
	rep.Warnings = append(rep.Warnings, "the budget ran out before the run started; call again")
	rep.DurationMS = time.Since(r.started).Milliseconds()
	return rep, nil
}

// sourceNotChecked answers a run whose source contract check failed. The check runs once per run, before
// any work: a run over a source that does not hold fails loudly (failRun) instead of completing with nobody
// evaluated. Out of budget before any work, nothing is lost: partial, and the next call checks again.
func (e *Engine) sourceNotChecked(r *run, rep Report, err error, log *zap.Logger) (Report, error) {
	if !r.stopped(err) {
		return e.failRun(r, rep, err, log)
	}
	rep.Status = Partial
	rep.Warnings = append(rep.Warnings, "the budget ran out while checking the source contract; call again")
	rep.DurationMS = time.Since(r.started).Milliseconds()
	fctx, fcancel := r.final()
	defer fcancel()
	if ferr := e.store.FinishRun(fctx, rep); ferr != nil {
		log.Error("storing the run report failed", zap.Error(ferr))
	}
	return rep, nil
}

// failRun records a run that failed before any scenario started (the source contract did not hold) and
// returns err with the failed report.
func (e *Engine) failRun(r *run, rep Report, err error, log *zap.Logger) (Report, error) {
	rep.Status = Failed
	rep.ErrorCode, rep.Problem = ErrorCode(err), ErrorMessage(err)
	rep.DurationMS = time.Since(r.started).Milliseconds()
	log.Error("run failed before evaluating", zap.String("error_code", string(rep.ErrorCode)),
		zap.String("problem", rep.Problem), zap.Error(err))
	fctx, fcancel := r.final()
	defer fcancel()
	if ferr := e.store.FinishRun(fctx, rep); ferr != nil {
		log.Error("storing the run report failed", zap.Error(ferr))
	}
	return rep, err
}

// evaluate runs the scenarios, at most Options.Parallelism at a time, and returns their reports in the
// scenarios' order.
func (e *Engine) evaluate(r *run, scenarios []string, log *zap.Logger) []ScenarioReport {
	reports := make([]ScenarioReport, len(scenarios))
	slots := make(chan struct{}, e.opt.Parallelism)
	var wg sync.WaitGroup
	for i, name := range scenarios {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			reports[i] = e.runScenario(r, name, log)
		}()
	}
	wg.Wait()
	return reports
}

// deliveryStep delivers the outbox after the evaluation when a sender is configured (a dry run delivers
// nothing), or says that delivery is off.
func (e *Engine) deliveryStep(r *run, rep *Report, log *zap.Logger) {
	switch {
	case e.opt.Sender != nil:
		rep.Delivery = e.deliver(r, log)
		rep.Status = withDelivery(rep.Status, rep.Delivery)
	case e.opt.Delivery.Off:
		rep.Delivery = e.deliveryOff(r, log)
	}
}

// storeReport stores the finished run's report, even after the budget is spent. A report that cannot be
// stored is the run's error: the watchdog reads stored reports.
func (e *Engine) storeReport(r *run, rep *Report, log *zap.Logger) {
	rep.DurationMS = time.Since(r.started).Milliseconds()
	fctx, fcancel := r.final()
	defer fcancel()
	if err := e.store.FinishRun(fctx, *rep); err != nil {
		log.Error("storing the run report failed", zap.Error(err))
		r.setErr(err)
	}
	t := rep.Totals()
	log.Info("run finished", zap.String("status", string(rep.Status)), zap.Int("evaluated", t.Evaluated),
		zap.Int("notified", t.Notified), zap.Int64("duration_ms", rep.DurationMS))
}

// newRunID returns a random (version 4) UUID.
func newRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
