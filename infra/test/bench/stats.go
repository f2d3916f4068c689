package bench

import (
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

// ratio divides medians (0 when undefined).
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}
