package engine

import "time"

// pacer sizes batches from measured batch times, so that a batch the engine starts is a batch that finishes
// before the deadline, and so that the budget is checked often (batches of about target each).
type pacer struct {
	min, max  int
	target    time.Duration
	perMentor time.Duration // moving estimate of one mentor's share of a batch
	overhead  time.Duration // per-batch cost that does not grow with its size (round trip, commit)
	wasCut    bool          // a batch of this run was cut by the deadline (see cut)
}

// safety inflates estimates when deciding whether a batch still fits.
const safety = 1.5

func newPacer(o Options) *pacer {
	return &pacer{min: o.MinBatch, max: o.MaxBatch, target: o.TargetBatch, perMentor: o.InitialPerMentor,
		overhead: 2 * time.Millisecond}
}

// plan returns the size of the next batch given the time left before the deadline (margin already taken
// off), or 0 when not even a minimal batch would fit.
//
// The target sizes the batch, between min and max; only the time left can refuse it. A database so slow that
// the target holds fewer than min mentors still gets batches of min while they fit (a plan of 0 there would
// end the run as partial with most of its budget unused).
func (p *pacer) plan(left time.Duration) int {
	usable := time.Duration(float64(left)/safety) - p.overhead
	if usable <= 0 {
		return 0
	}
	fit := int(usable / p.perMentor)
	if fit < p.min {
		return 0
	}
	return min(max(int(p.target/p.perMentor), p.min), p.max, fit)
}

// observe folds a finished batch into the estimate (half old, half new, so one slow batch counts at once).
func (p *pacer) observe(mentors int, took time.Duration) {
	if mentors <= 0 {
		return
	}
	per := max((took-p.overhead)/time.Duration(mentors), time.Microsecond)
	p.perMentor = (p.perMentor + per) / 2
}

// cut folds in a batch of n mentors that the deadline cut after took: each mentor took longer than
// took/n, so the estimate rises at least that far, and the next run (see Engine.pacerFor) starts smaller
// instead of starting, and losing, the same batch again.
func (p *pacer) cut(n int, took time.Duration) {
	if n <= 0 {
		return
	}
	p.perMentor = max(p.perMentor, (took-p.overhead)/time.Duration(n))
	p.wasCut = true
}
