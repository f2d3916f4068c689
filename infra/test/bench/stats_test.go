package bench

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/engine"
)

// TestSettle: warm-up stops at the first repetition within 10 % of the one before on every figure, and
// never runs more than its bound.
func TestSettle(t *testing.T) {
	t.Parallel()
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, c := range []struct {
		name string
		runs [][]time.Duration
		max  int
		want int
	}{
		{"getting faster, then steady", [][]time.Duration{ms(3600, 100), ms(2970, 100), ms(2080, 100), ms(2000, 105), ms(1990, 100)}, 5, 4},
		{"one figure still moving", [][]time.Duration{ms(1000, 100), ms(1000, 150), ms(1000, 100), ms(1000, 100)}, 5, 4},
		{"never steady: bounded", [][]time.Duration{ms(100), ms(200), ms(100), ms(200), ms(100), ms(200)}, 5, 5},
		{"none", nil, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			ran := 0
			n, err := settle(c.max, func(i int) ([]time.Duration, error) {
				ran++
				return c.runs[i], nil
			})
			if err != nil || n != c.want || ran != c.want {
				t.Errorf("settle ran %d (said %d, %v), want %d", ran, n, err, c.want)
			}
		})
	}
}

// TestUntilDoneStopsWhenCancelled: a cancelled measurement (Ctrl-C) stops at the first partial answer instead
// of calling again until the bound (it spun through 100 empty invocations).
func TestUntilDoneStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	one := func(context.Context) (engine.Report, time.Duration, error) {
		calls++
		if calls == 2 {
			cancel()
		}
		return engine.Report{Status: engine.Partial}, time.Millisecond, nil
	}
	if _, err := untilDone(ctx, one); !errors.Is(err, context.Canceled) {
		t.Errorf("untilDone returned %v, want context.Canceled", err)
	}
	if calls != 2 {
		t.Errorf("%d calls, want 2 (none after the cancellation)", calls)
	}
}
