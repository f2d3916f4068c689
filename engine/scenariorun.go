package engine

import (
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
)

// runScenario evaluates one scenario of a run: it claims the scenario's checkpoint (a dry run claims
// nothing), runs batches until done or out of budget, releases the checkpoint and completes the report.
func (e *Engine) runScenario(r *run, name string, log *zap.Logger) ScenarioReport {
	sr := ScenarioReport{Scenario: name}
	log = log.With(zap.String("scenario", name))
	started := time.Now()
	cursor := ""
	if !r.dryRun {
		c, answered := e.claim(r, &sr, log)
		if answered {
			return sr
		}
		cursor = c.Cursor
		defer e.release(r, name, log)
	}
	cursor = e.batches(r, &sr, cursor, started, log)
	e.readMode(r, &sr, log)
	e.finishScenario(r, &sr, cursor, started, log)
	return sr
}

// lease is how long a claim of the run holds a checkpoint: Options.Lease, or less when the run ends sooner
// (its deadline and final writes).
func (e *Engine) lease(r *run) time.Duration {
	return min(time.Until(r.deadline)+FinalWindow, e.opt.Lease)
}

// claim takes the scenario's checkpoint for the run. It returns the claim, or answered when the scenario's
// report is complete without any batch: already done, held by another run, split into another number of
// shards, not started for want of budget, or failed.
func (e *Engine) claim(r *run, sr *ScenarioReport, log *zap.Logger) (c Claim, answered bool) {
	c, err := e.store.Claim(r.ctx, r.id, r.date, sr.Scenario, r.part, e.lease(r))
	switch {
	case r.stopped(err):
		*sr = e.notStarted(r, *sr, log)
		return c, true
	case err != nil:
		*sr = e.fail(r, *sr, err, log)
		return c, true
	}
	sr.TotalEvaluated, sr.TotalNotified = c.Evaluated, c.Notified
	switch c.Outcome {
	case Done:
		sr.Status = AlreadyCompleted
	case Held:
		sr.Status, sr.Message = Busy, "another run is evaluating this scenario for this date"
	case OtherLayout:
		sr.Status = Busy
		sr.Message = fmt.Sprintf("this date's evaluation of this scenario is split into %d shards; call each shard k/%d (scheduler.invoke(..., shards => %d)) until it is done",
			c.Shards, c.Shards, c.Shards)
	default:
		return c, false
	}
	return c, true
}

// release gives the scenario's checkpoint lease back, even after the budget is spent.
func (e *Engine) release(r *run, name string, log *zap.Logger) {
	ctx, cancel := r.final()
	defer cancel()
	if err := e.store.Release(ctx, r.id, r.date, name, r.part); err != nil {
		log.Warn("releasing the checkpoint lease failed; it expires by itself", zap.Error(err))
	}
}

// batches evaluates keyset batches from cursor until the scenario is done, the budget is spent, another
// run takes the checkpoint over, or a batch fails; it sets the report's status and counts and returns the
// cursor reached. The lease, claimed at claimed, is renewed between batches once half of it has passed.
func (e *Engine) batches(r *run, sr *ScenarioReport, cursor string, claimed time.Time, log *zap.Logger) string {
	p := e.pacerFor(sr.Scenario)
	defer e.remember(sr.Scenario, p)
	for sr.Status == "" {
		n := p.plan(time.Until(r.deadline) - r.margin)
		if n == 0 {
			sr.Status, sr.Message = Partial, "budget spent; the next call resumes from the checkpoint"
			break
		}
		if !r.dryRun && time.Since(claimed) > e.opt.Lease/2 {
			c, err := e.store.Claim(r.ctx, r.id, r.date, sr.Scenario, r.part, e.lease(r))
			if err == nil && (c.Outcome != Claimed || c.Cursor != cursor) {
				sr.Status, sr.Message = Busy, "another run took over this scenario"
				break
			}
			claimed = time.Now() // on an error the batch below meets the same fault and reports it
		}
		t0 := time.Now()
		res, err := e.store.EvaluateBatch(r.ctx, Batch{RunID: r.id, Scenario: sr.Scenario, Date: r.date, Part: r.part,
			After: cursor, Limit: n, DryRun: r.dryRun})
		took := time.Since(t0)
		switch {
		case r.stopped(err):
			// Cut by the deadline or by the caller: the batch rolled back with its checkpoint (see run.stopped).
			sr.Status, sr.Message = Partial, "budget ran out during a batch; the batch was rolled back and resumes next call"
			p.cut(n, took)
			log.Warn("batch cut by the deadline", zap.Int("limit", n), zap.Duration("took", took))
		case IsLeaseLost(err):
			sr.Status, sr.Message = Busy, "another run took over this scenario"
		case err != nil:
			*sr = e.fail(r, *sr, err, log)
		default:
			p.observe(res.Evaluated, took)
			sr.add(res)
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
	return cursor
}

// add counts one batch's result in the scenario's report.
func (sr *ScenarioReport) add(res BatchResult) {
	sr.Batches++
	sr.Evaluated += res.Evaluated
	sr.Notified += res.Notified
	sr.SuppressedCooldown += res.SuppressedCooldown
	sr.Duplicates += res.Duplicates
	sr.Conflicts += res.Conflicts
	sr.HeldOut += res.HeldOut
}

// readMode puts in the report how the scenario's checkpoint is evaluated (full or incremental, and why)
// and the state repairs its reconciliation counted, with a warning for each batch of repairs: a repair means
// a change reached the app's tables without the change feed noting it.
func (e *Engine) readMode(r *run, sr *ScenarioReport, log *zap.Logger) {
	ctx, cancel := r.final()
	defer cancel()
	m, err := e.store.Mode(ctx, r.date, sr.Scenario, r.part)
	if err != nil {
		log.Warn("reading the evaluation mode failed", zap.Error(err))
		return
	}
	sr.Mode, sr.ModeReason, sr.StateRepairs = m.Mode, m.Reason, m.Repairs
	if m.Repairs > 0 {
		log.Warn("the reconciliation repaired the incremental state: mentors were due earlier than it said (a change the feed did not note?)",
			zap.Int("state_repairs", m.Repairs))
	}
}

// finishScenario completes the scenario's report after its batches: the totals for the date, the
// remaining mentors when not done, and, for a complete evaluation of every mentor in one run, its size and
// time kept for operators and sizing.
func (e *Engine) finishScenario(r *run, sr *ScenarioReport, cursor string, started time.Time, log *zap.Logger) {
	if !r.dryRun {
		sr.TotalEvaluated += sr.Evaluated
		sr.TotalNotified += sr.Notified
	}
	sr.DurationMS = time.Since(started).Milliseconds()

	ctx, cancel := r.final()
	defer cancel()
	if sr.Status != Completed {
		countCtx, cancelCount := r.count()
		rem, err := e.store.Remaining(countCtx, r.part, cursor)
		cancelCount()
		if err == nil {
			sr.Remaining = rem
		} else {
			// Say so rather than let a 0 read as "nothing left" (a count over a large part can outlast the
			// final write's bound on a loaded database).
			log.Warn("counting the remaining mentors failed", zap.String("scenario", sr.Scenario), zap.Error(err))
			sr.Message = strings.TrimPrefix(sr.Message+"; the remaining mentors were not counted", "; ")
		}
	} else if !r.dryRun && r.part.Shard.Whole() && r.part.Slot.Whole() && cursor != "" && sr.Evaluated == sr.TotalEvaluated &&
		sr.Mode != ModeIncremental { // an incremental run's size is not the evaluation's
		if err := e.store.RecordScenarioStats(ctx, sr.Scenario, sr.Evaluated, time.Duration(sr.DurationMS)*time.Millisecond); err != nil {
			log.Warn("recording scenario stats failed", zap.Error(err))
		}
	}
	log.Info("scenario finished", zap.String("status", string(sr.Status)), zap.Int("evaluated", sr.Evaluated),
		zap.Int("notified", sr.Notified), zap.Int("suppressed_cooldown", sr.SuppressedCooldown),
		zap.Int("duplicates", sr.Duplicates), zap.Int("batches", sr.Batches), zap.Int64("remaining", sr.Remaining),
		zap.String("mode", sr.Mode), zap.String("mode_reason", sr.ModeReason))
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
		countCtx, cancelCount := r.count()
		sr.Remaining, err = e.store.Remaining(countCtx, r.part, p.Cursor)
		cancelCount()
	}
	if err != nil {
		log.Warn("reading the progress of a scenario not started failed", zap.String("scenario", sr.Scenario), zap.Error(err))
		sr.Message += "; the remaining mentors were not counted"
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
