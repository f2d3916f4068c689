package bench

import (
	"math"
	"slices"
	"time"
)

// Dist is min/median/max of repeated measurements, in milliseconds.
type Dist struct {
	N      int     `json:"n"`
	Min    float64 `json:"min_ms"`
	Median float64 `json:"median_ms"`
	Max    float64 `json:"max_ms"`
}

// distOf summarises durations.
func distOf(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d.Microseconds()) / 1000
	}
	slices.Sort(ms)
	med := ms[len(ms)/2]
	if len(ms)%2 == 0 {
		med = (ms[len(ms)/2-1] + ms[len(ms)/2]) / 2
	}
	return Dist{N: len(ms), Min: ms[0], Median: med, Max: ms[len(ms)-1]}
}

// ms64 is d in milliseconds.
func ms64(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ratio divides medians (0 when undefined).
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// settleTolerance: a repetition has settled when each of its figures is within this share of the previous
// repetition's.
const settleTolerance = 0.10

// settle runs warm-up repetitions (rep(0), rep(1), ...) until two consecutive ones agree within
// settleTolerance on every figure rep returns, and at most maxRuns of them (at least two, unless maxRuns
// is smaller). Caches, the visibility map, plans and the CPU's frequency all change over the first
// repetitions on a fresh server; counted repetitions start from a steady state. It returns how many ran.
func settle(maxRuns int, rep func(i int) ([]time.Duration, error)) (int, error) {
	var prev []time.Duration
	for i := range maxRuns {
		cur, err := rep(i)
		if err != nil {
			return i + 1, err
		}
		if prev != nil && within(prev, cur, settleTolerance) {
			return i + 1, nil
		}
		prev = cur
	}
	return maxRuns, nil
}

// within reports whether every b[i] is within tol (a share) of a[i].
func within(a, b []time.Duration, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] <= 0 || math.Abs(float64(b[i]-a[i]))/float64(a[i]) > tol {
			return false
		}
	}
	return true
}
