package engine

import (
	"testing"
	"time"
)

func TestPacerNeverPlansABatchThatCannotFinish(t *testing.T) {
	p := newPacer(Options{MinBatch: 100, MaxBatch: 20_000, TargetBatch: 250 * time.Millisecond,
		InitialPerMentor: 50 * time.Microsecond})
	// Measured: 10,000 mentors took 500 ms (50 µs each plus overhead).
	p.observe(10_000, 500*time.Millisecond)
	for _, left := range []time.Duration{30 * time.Second, time.Second, 200 * time.Millisecond, 20 * time.Millisecond} {
		n := p.plan(left)
		if n == 0 {
			continue
		}
		estimate := p.overhead + time.Duration(n)*p.perMentor
		if time.Duration(float64(estimate)*safety) > left {
			t.Errorf("left %v: planned %d mentors, estimated %v with safety %.1f: does not fit", left, n, estimate, safety)
		}
		if n > p.max || n < p.min {
			t.Errorf("left %v: planned %d, outside [%d, %d]", left, n, p.min, p.max)
		}
	}
	if n := p.plan(5 * time.Millisecond); n != 0 {
		t.Errorf("5 ms left: planned %d mentors, want none (not even a minimal batch fits)", n)
	}
	if n := p.plan(30 * time.Second); n < 4900 || n > 5100 {
		t.Errorf("plenty of time: planned %d, want about the target of 250 ms = 5000 mentors", n)
	}
}

func TestPacerReactsToASlowBatch(t *testing.T) {
	p := newPacer(Options{MinBatch: 10, MaxBatch: 20_000, TargetBatch: 250 * time.Millisecond,
		InitialPerMentor: 50 * time.Microsecond})
	before := p.plan(30 * time.Second)
	p.observe(1000, 2*time.Second) // 2 ms a mentor: forty times slower than assumed
	after := p.plan(30 * time.Second)
	if after*10 > before {
		t.Errorf("after a slow batch the plan went from %d to %d mentors; want a much smaller batch", before, after)
	}
}

// TestPacerAfterACutBatch: a batch the deadline cut raises the estimate to at least its time per mentor, so
// the next plan for the same time left is a batch that would have fitted.
func TestPacerAfterACutBatch(t *testing.T) {
	p := newPacer(Options{MinBatch: 100, MaxBatch: 20_000, TargetBatch: 250 * time.Millisecond,
		InitialPerMentor: 50 * time.Microsecond})
	left := 2 * time.Second
	first := p.plan(left)
	// A busy database: the batch was cut after 1.95 s, unfinished (over 390 µs a mentor).
	p.cut(first, 1950*time.Millisecond)
	next := p.plan(left)
	atLeast := time.Duration(next) * 1950 * time.Millisecond / time.Duration(first) // at the cut batch's pace
	if next == 0 || time.Duration(float64(atLeast)*safety) > left {
		t.Fatalf("planned %d mentors after %d were cut at 1.95 s: at least %v, with safety %.1f over %v", next, first, atLeast, safety, left)
	}
}

// TestPacerSlowDatabaseStillPlansAMinimalBatch: on a database so slow that the target duration holds fewer
// than MinBatch mentors, the run goes on in minimal batches while they fit the budget; before, the plan was 0
// and the run answered partial with most of its budget left. Seen under load: a concurrent run stopped
// inactivity after three batches of 200, 20 s before its deadline, and left the rest for a call that never came.
func TestPacerSlowDatabaseStillPlansAMinimalBatch(t *testing.T) {
	p := newPacer(Options{MinBatch: 100, MaxBatch: 200, TargetBatch: 250 * time.Millisecond,
		InitialPerMentor: 50 * time.Microsecond})
	p.observe(200, 2*time.Second) // 10 ms a mentor measured, 5 ms estimated: the target of 250 ms holds 50
	if n := p.plan(20 * time.Second); n != p.min {
		t.Errorf("20 s left at %v a mentor: planned %d mentors, want the minimal batch of %d", p.perMentor, n, p.min)
	}
	// A minimal batch that does not fit what is left is still refused.
	fits := time.Duration(float64(p.overhead+time.Duration(p.min)*p.perMentor) * safety)
	if n := p.plan(fits - time.Millisecond); n != 0 {
		t.Errorf("%v left, a minimal batch needs %v: planned %d mentors, want none", fits-time.Millisecond, fits, n)
	}
}
