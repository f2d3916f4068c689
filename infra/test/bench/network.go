package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
)

// NetworkResult compares the engine's daily run with the naive loop when every round trip between the
// function and the database takes RTT: both go through the same latency-injecting proxy.
type NetworkResult struct {
	RTTMS float64 `json:"rtt_ms"`
	// Engine: the daily run, all scenarios, in-process through the store over the proxy.
	Engine      Dist `json:"engine"`
	EngineCalls int  `json:"engine_invocations"`
	// Naive: the per-mentor loop over the proxy; NaiveMentors were timed, NaiveExtrapolated says the figure
	// for all active mentors was scaled linearly from them.
	Naive             Dist    `json:"naive"`
	NaiveMentors      int     `json:"naive_mentors_timed"`
	NaiveExtrapolated bool    `json:"naive_extrapolated"`
	NaiveOverEngine   float64 `json:"ratio_naive_over_engine"`
}

// naiveRoundTrips caps the round trips one naive pass may make over the proxy (about 60 s at 1 ms): past
// it, the loop is timed on a sample and extrapolated.
const naiveRoundTrips = 60_000

// runNetwork measures the engine and the naive loop through a proxy of each round-trip time in cfg.RTTs.
// dbURL names the size's database; day is the timed day (reset before and after each measurement).
func (b *sizeBench) runNetwork(ctx context.Context, dbURL string, day time.Time, active int, queriesPerMentor float64) ([]NetworkResult, error) {
	var out []NetworkResult
	for _, rtt := range b.cfg.RTTs {
		nr, err := b.runOverProxy(ctx, dbURL, day, active, queriesPerMentor, rtt)
		if err != nil {
			return nil, fmt.Errorf("over a %v round trip: %w", rtt, err)
		}
		out = append(out, nr)
	}
	return out, nil
}

func (b *sizeBench) runOverProxy(ctx context.Context, dbURL string, day time.Time, active int, queriesPerMentor float64, rtt time.Duration) (NetworkResult, error) {
	nr := NetworkResult{RTTMS: float64(rtt.Microseconds()) / 1000}
	host, err := hostPort(dbURL)
	if err != nil {
		return nr, err
	}
	proxy, err := startLatencyProxy(host, rtt)
	if err != nil {
		return nr, err
	}
	defer proxy.Close()
	viaURL, err := proxy.URL(dbURL)
	if err != nil {
		return nr, err
	}
	store, err := postgres.Open(ctx, postgres.Config{URL: viaURL})
	if err != nil {
		return nr, err
	}
	defer store.Close()
	far := &sizeBench{cfg: b.cfg, pool: store.Pool(), log: b.log}
	defer far.close()
	eng, err := far.engineFor(ctx, viaURL, day, b.cfg.Budget, 0)
	if err != nil {
		return nr, err
	}

	var engT []time.Duration
	for range min(b.cfg.Reps, 3) {
		if err := b.reset(ctx, day); err != nil {
			return nr, err
		}
		iv, err := untilDone(ctx, inProcess(eng, day))
		if err != nil {
			return nr, fmt.Errorf("engine: %w", err)
		}
		engT = append(engT, iv.took)
		nr.EngineCalls = max(nr.EngineCalls, iv.invocations)
	}
	nr.Engine = distOf(engT)

	limit := 0
	if rtt > 0 && queriesPerMentor > 0 && float64(active)*queriesPerMentor > naiveRoundTrips*float64(time.Millisecond)/float64(rtt) {
		limit, nr.NaiveExtrapolated = max(100, int(naiveRoundTrips*float64(time.Millisecond)/float64(rtt)/queriesPerMentor)), true
	}
	if err := b.reset(ctx, day); err != nil {
		return nr, err
	}
	res, err := runNaive(ctx, store.Pool(), day, limit)
	if err != nil {
		return nr, fmt.Errorf("naive: %w", err)
	}
	nr.NaiveMentors = res.Mentors
	t := res.Took
	if nr.NaiveExtrapolated {
		t = time.Duration(float64(res.Took) * float64(active) / float64(res.Mentors))
	}
	nr.Naive = distOf([]time.Duration{t})
	nr.NaiveOverEngine = ratio(nr.Naive.Median, nr.Engine.Median)
	fmt.Fprintf(b.log, "bench: %v round trip: engine %s, naive %s (%d mentors timed), naive/engine %.0f×\n",
		rtt, ms(nr.Engine.Median), ms(nr.Naive.Median), nr.NaiveMentors, nr.NaiveOverEngine)
	return nr, b.reset(ctx, day)
}
