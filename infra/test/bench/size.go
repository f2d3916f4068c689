package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/dev/benchdata"
)

// SizeResult holds the figures of one dataset size.
type SizeResult struct {
	Label         string `json:"label"`
	Mentors       int    `json:"mentors"`
	ActiveMentors int    `json:"active_mentors"`
	Activities    int64  `json:"activities"`

	// FirstRun: the first evaluation ever (empty notifications table: every reached milestone and every
	// inactive mentor fires), in invocations of the budget until done, evaluation only (delivery off).
	// Measured once. FirstDelivery: the pushes it queued, delivered afterwards by deliver-only calls on the
	// same day's clock, until the outbox is drained.
	FirstRun           Dist `json:"first_run"`
	FirstRunCalls      int  `json:"first_run_invocations"`
	FirstNotified      int  `json:"first_run_notified"`
	FirstDelivery      Dist `json:"first_run_delivery"`
	FirstDeliveryCalls int  `json:"first_run_delivery_invocations"`
	FirstSent          int  `json:"first_run_pushes_sent"`

	// Engine: the daily run (the day after the first run), all scenarios, in-process through the store.
	Engine          Dist            `json:"engine"`
	EngineScenarios map[string]Dist `json:"engine_scenarios"`
	EngineCalls     int             `json:"engine_invocations"`
	DailyNotified   int             `json:"daily_notified"`
	// HTTP: the same run end to end: POST to the function process on loopback, report decoded.
	HTTP Dist `json:"http"`
	// WarmupEngine and WarmupHTTP are the warm-up repetitions' times in ms, run until two consecutive ones
	// agreed within 10 % and not counted in Engine and HTTP.
	WarmupEngine []float64 `json:"warmup_engine_ms,omitempty"`
	WarmupHTTP   []float64 `json:"warmup_http_ms,omitempty"`
	HTTPCalls    int       `json:"http_invocations"`
	PeakRSS      int64     `json:"peak_rss_bytes"`
	ColdStart    Dist      `json:"cold_start"`

	// Naive: the per-mentor loop; NaiveMentors were timed, NaiveExtrapolated says the figure for all active
	// mentors was scaled linearly from them.
	Naive             Dist `json:"naive"`
	NaiveMentors      int  `json:"naive_mentors_timed"`
	NaiveQueries      int  `json:"naive_queries_per_pass"`
	NaiveExtrapolated bool `json:"naive_extrapolated"`

	// Floor of the inactivity check: the faster formulation, and each one.
	Floor        Dist            `json:"floor_inactivity"`
	FloorQueries map[string]Dist `json:"floor_queries"`
	FloorCount   int64           `json:"floor_inactive_mentors"`
	// RuleFloor: the floor of the rule with the re-engagement policy (latest activity and the spell's
	// nudges), the faster formulation, and each one; RuleFloorCount is the day's nudges it finds.
	RuleFloor        Dist            `json:"floor_inactivity_rule"`
	RuleFloorQueries map[string]Dist `json:"floor_rule_queries"`
	RuleFloorCount   int64           `json:"floor_rule_nudges"`

	// Network: the engine and the naive loop through a latency-injecting proxy, per round-trip time.
	Network []NetworkResult `json:"network,omitempty"`

	// WriteCost: the change feed's triggers on the app's activity inserts, without and with.
	WriteCost *WriteCost `json:"feed_write_cost,omitempty"`

	// Outcomes: the effectiveness report's computation over the first run's nudges.
	Outcomes *Outcomes `json:"outcomes,omitempty"`

	// Budget test: runs with a budget too short to finish, to see how close to the budget they end.
	BudgetTest *BudgetTest `json:"budget_test,omitempty"`

	// Incremental: the daily run without the feed, with it in full (keeping the state) and incremental.
	Incremental *Incremental `json:"incremental,omitempty"`

	// Ratios of medians.
	EngineOverFloor     float64 `json:"ratio_engine_inactivity_over_floor"`
	EngineOverRuleFloor float64 `json:"ratio_engine_inactivity_over_rule_floor"`
	NaiveOverEngine     float64 `json:"ratio_naive_over_engine"`

	postgres string
}

// BudgetTest is a cut-off run: its budget and margin, and how long the runs really took.
type BudgetTest struct {
	BudgetMS   int64 `json:"budget_ms"`
	MarginMS   int64 `json:"margin_ms"`
	Runs       Dist  `json:"runs"`
	CutBatches int   `json:"batches_cut_by_the_deadline"`
	// OvershootMS is the worst run duration minus the budget (negative: ended before the budget).
	OvershootMS float64 `json:"worst_overshoot_ms"`
}

func runSize(ctx context.Context, cfg Config, bin, dbURL string, n int) (*SizeResult, error) {
	store, err := postgres.Open(ctx, postgres.Config{URL: dbURL})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	b := &sizeBench{cfg: cfg, pool: store.Pool(), log: cfg.Log}
	defer b.close()
	sr := &SizeResult{Label: benchdata.Label(n), Mentors: n, EngineScenarios: map[string]Dist{}, FloorQueries: map[string]Dist{},
		RuleFloorQueries: map[string]Dist{}}
	if err := b.pool.QueryRow(ctx, `select current_setting('server_version') || ', shared_buffers ' || current_setting('shared_buffers'),
		(select count(*) from public.peer_mentors where status = 'active'),
		(select count(*) from public.activities)`).Scan(&sr.postgres, &sr.ActiveMentors, &sr.Activities); err != nil {
		return nil, err
	}
	// Index-only scans need the visibility map: make sure a dataset loaded while another transaction held
	// back the horizon is vacuumed (a no-op on an all-visible table), as autovacuum would have by now.
	if _, err := b.pool.Exec(ctx, `vacuum (analyze) public.organisations, public.peer_mentors, public.activities, public.certifications, public.device_tokens`); err != nil {
		return nil, err
	}
	day := evalDay
	prev := day.AddDate(0, 0, -1)
	logf := func(format string, args ...any) {
		fmt.Fprintf(b.log, "bench: %s: "+format+"\n", append([]any{sr.Label}, args...)...)
	}

	// Until the incremental comparison, the change feed's triggers are off: the scheduler evaluates in full
	// without keeping a state, as it did before the incremental run and as a project without the feed does,
	// so that these figures compare with the earlier results.
	if err := b.setFeed(ctx, false); err != nil {
		return nil, err
	}
	// The first run ever: empty notifications, the day before the timed day, on that day's clock (its pushes
	// count against that day's cap, not the timed day's).
	if _, err := b.pool.Exec(ctx, `truncate public.notifications; delete from scheduler.checkpoints; delete from scheduler.runs`); err != nil {
		return nil, err
	}
	// Evaluation alone first (delivery off): a first run at 1M queues close to a million pushes, and draining
	// them is the outbox's work over the following calls, not the evaluation's.
	firstEng, err := b.engineFor(ctx, dbURL, prev, cfg.Budget, 0, func(o *engine.Options) { o.Sender, o.Delivery.Off = nil, true })
	if err != nil {
		return nil, err
	}
	first, err := untilDone(ctx, inProcess(firstEng, prev))
	if err != nil {
		return nil, fmt.Errorf("first run: %w", err)
	}
	sr.FirstRun, sr.FirstRunCalls, sr.FirstNotified = distOf([]time.Duration{first.took}), first.invocations, first.notified()
	logf("first run: %v in %d invocation(s), %d notifications", first.took.Round(time.Millisecond), first.invocations, sr.FirstNotified)
	deliverEng, err := b.engineFor(ctx, dbURL, prev, cfg.Budget, 0)
	if err != nil {
		return nil, err
	}
	fd, err := untilDone(ctx, calling(deliverEng, engine.Request{DeliverOnly: true}))
	if err != nil {
		return nil, fmt.Errorf("first run's delivery: %w", err)
	}
	sr.FirstDelivery, sr.FirstDeliveryCalls, sr.FirstSent = distOf([]time.Duration{fd.took}), fd.invocations, fd.sent()
	logf("first run's delivery: %v in %d invocation(s), %d pushes sent", fd.took.Round(time.Millisecond), fd.invocations, sr.FirstSent)
	// Autovacuum would get to the new notifications before the next day; do it now so plans are stable.
	if _, err := b.pool.Exec(ctx, `vacuum (analyze) public.notifications, scheduler.checkpoints`); err != nil {
		return nil, err
	}

	if cfg.IncrementalOnly {
		if sr.Incremental, err = b.runIncremental(ctx, dbURL, prev, day, logf); err != nil {
			return nil, fmt.Errorf("incremental: %w", err)
		}
		return sr, nil
	}
	if sr.Outcomes, err = runOutcomes(ctx, b.pool, prev, prev.AddDate(0, 0, 14), min(cfg.Reps, 3)); err != nil {
		return nil, fmt.Errorf("outcomes: %w", err)
	}
	logf("outcomes of %d nudges: nudge_outcomes %.0f ms, effectiveness %.0f ms", sr.Outcomes.Nudges,
		sr.Outcomes.Outcomes.Median, sr.Outcomes.Effectiveness.Median)
	if cfg.OutcomesOnly {
		return sr, nil
	}

	// The in-process engine and the function process for the daily measurements, wired alike.
	eng, err := b.engineFor(ctx, dbURL, day, cfg.Budget, 0)
	if err != nil {
		return nil, err
	}
	srv, err := startServer(ctx, bin, dbURL, day, cfg.Options)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	sr.ColdStart = distOf([]time.Duration{srv.ready})
	body := fmt.Sprintf(`{"evaluation_date":%q}`, day.Format(engine.DateLayout))

	// Side by side: each repetition times the engine, HTTP and both floor formulations on the same data.
	var engT, httpT []time.Duration
	scen := map[string][]time.Duration{}
	floors := map[string][]time.Duration{}
	ruleFloors := map[string][]time.Duration{}
	repetition := func(count bool) (iv, hv invocation, err error) {
		if err := b.reset(ctx, day); err != nil {
			return iv, hv, err
		}
		if iv, err = untilDone(ctx, inProcess(eng, day)); err != nil {
			return iv, hv, fmt.Errorf("engine run: %w", err)
		}
		if err := b.reset(ctx, day); err != nil {
			return iv, hv, err
		}
		if hv, err = untilDone(ctx, func(ctx context.Context) (engine.Report, time.Duration, error) { return srv.post(ctx, body) }); err != nil {
			return iv, hv, fmt.Errorf("HTTP run: %w", err)
		}
		for name, q := range floorQueries {
			cnt, took, err := runFloor(ctx, b.pool, q, day)
			if err != nil {
				return iv, hv, fmt.Errorf("floor %s: %w", name, err)
			}
			if count {
				floors[name] = append(floors[name], took)
			}
			sr.FloorCount = cnt
		}
		// The rule's floor reads the day's state before its nudges: the engine's run wrote them.
		if err := b.reset(ctx, day); err != nil {
			return iv, hv, err
		}
		for name, q := range ruleFloorQueries {
			cnt, took, err := runFloor(ctx, b.pool, q, day)
			if err != nil {
				return iv, hv, fmt.Errorf("rule floor %s: %w", name, err)
			}
			if count {
				ruleFloors[name] = append(ruleFloors[name], took)
			}
			sr.RuleFloorCount = cnt
		}
		return iv, hv, nil
	}
	// Warm-up: whole repetitions until the engine's and HTTP's times settle; listed, not counted.
	if _, err := settle(cfg.MaxWarmup, func(i int) ([]time.Duration, error) {
		iv, hv, err := repetition(false)
		sr.WarmupEngine = append(sr.WarmupEngine, ms64(iv.took))
		sr.WarmupHTTP = append(sr.WarmupHTTP, ms64(hv.took))
		logf("warm-up %d: engine %v, http %v", i+1, iv.took.Round(time.Millisecond), hv.took.Round(time.Millisecond))
		return []time.Duration{iv.took, hv.took}, err
	}); err != nil {
		return nil, err
	}
	for rep := range cfg.Reps {
		iv, hv, err := repetition(true)
		if err != nil {
			return nil, err
		}
		engT = append(engT, iv.took)
		sr.EngineCalls, sr.DailyNotified = max(sr.EngineCalls, iv.invocations), iv.notified()
		for _, s := range []string{"inactivity", "milestone", "certification_expiry"} {
			scen[s] = append(scen[s], iv.scenarioMS(s))
		}
		httpT = append(httpT, hv.took)
		sr.HTTPCalls = max(sr.HTTPCalls, hv.invocations)
		logf("rep %d: engine %v, http %v", rep+1, iv.took.Round(time.Millisecond), hv.took.Round(time.Millisecond))
	}
	sr.Engine, sr.HTTP = distOf(engT), distOf(httpT)
	for s, ds := range scen {
		sr.EngineScenarios[s] = distOf(ds)
	}
	for name, ds := range floors {
		sr.FloorQueries[name] = distOf(ds)
		if sr.Floor.N == 0 || sr.FloorQueries[name].Median < sr.Floor.Median {
			sr.Floor = sr.FloorQueries[name]
		}
	}
	for name, ds := range ruleFloors {
		sr.RuleFloorQueries[name] = distOf(ds)
		if sr.RuleFloor.N == 0 || sr.RuleFloorQueries[name].Median < sr.RuleFloor.Median {
			sr.RuleFloor = sr.RuleFloorQueries[name]
		}
	}
	if sr.PeakRSS, err = srv.peakRSS(); err != nil {
		return nil, err
	}
	srv.stop()

	// Cold starts: fresh processes, process start to ready.
	colds := []time.Duration{srv.ready}
	for range min(cfg.Reps, 5) - 1 {
		s, err := startServer(ctx, bin, dbURL, day, cfg.Options)
		if err != nil {
			return nil, err
		}
		colds = append(colds, s.ready)
		s.stop()
	}
	sr.ColdStart = distOf(colds)

	// The naive loop, on the same day's state (reset before and after).
	limit := 0
	if sr.ActiveMentors > cfg.NaiveFull {
		limit, sr.NaiveExtrapolated = cfg.NaiveSample, true
	}
	var naiveT []time.Duration
	for range min(cfg.Reps, 3) {
		if err := b.reset(ctx, day); err != nil {
			return nil, err
		}
		nr, err := runNaive(ctx, b.pool, day, limit)
		if err != nil {
			return nil, fmt.Errorf("naive: %w", err)
		}
		sr.NaiveMentors, sr.NaiveQueries = nr.Mentors, nr.Queries
		t := nr.Took
		if sr.NaiveExtrapolated {
			t = time.Duration(float64(nr.Took) * float64(sr.ActiveMentors) / float64(nr.Mentors))
		}
		naiveT = append(naiveT, t)
		logf("naive: %d mentors, %d queries in %v", nr.Mentors, nr.Queries, nr.Took.Round(time.Millisecond))
	}
	sr.Naive = distOf(naiveT)
	if err := b.reset(ctx, day); err != nil {
		return nil, err
	}

	// The same comparison over a network's round trip.
	if sr.ActiveMentors <= cfg.NetworkMaxMentors && sr.NaiveMentors > 0 {
		perMentor := float64(sr.NaiveQueries) / float64(sr.NaiveMentors)
		if sr.Network, err = b.runNetwork(ctx, dbURL, day, sr.ActiveMentors, perMentor); err != nil {
			return nil, err
		}
	}

	// A budget too short to finish: how close to it do runs end, and are batches cut?
	if sr.Engine.Median > 2000 {
		budget := time.Duration(sr.Engine.Median/2) * time.Millisecond
		margin := budget / 10
		bt := &BudgetTest{BudgetMS: budget.Milliseconds(), MarginMS: margin.Milliseconds()}
		e, err := b.engineFor(ctx, dbURL, day, budget, margin)
		if err != nil {
			return nil, err
		}
		var runs []time.Duration
		for range min(cfg.Reps, 3) {
			if err := b.reset(ctx, day); err != nil {
				return nil, err
			}
			t0 := time.Now()
			rep, err := e.Run(ctx, engine.Request{EvaluationDate: day.Format(engine.DateLayout)})
			took := time.Since(t0)
			if err != nil {
				return nil, fmt.Errorf("budget test: %w", err)
			}
			runs = append(runs, took)
			for _, s := range rep.Scenarios {
				if s.Status == engine.Partial && strings.HasPrefix(s.Message, "budget ran out during") {
					bt.CutBatches++
				}
			}
		}
		bt.Runs = distOf(runs)
		bt.OvershootMS = bt.Runs.Max - float64(budget.Milliseconds())
		sr.BudgetTest = bt
		if err := b.reset(ctx, day); err != nil {
			return nil, err
		}
	}

	// The incremental run beside the full one (it writes changes to the app's tables and takes them out).
	if !cfg.NoIncremental {
		if sr.Incremental, err = b.runIncremental(ctx, dbURL, prev, day, logf); err != nil {
			return nil, fmt.Errorf("incremental: %w", err)
		}
	} else if err := b.setFeed(ctx, true); err != nil {
		return nil, err
	}

	// Last, as it writes to the app's table (and leaves it as it was): the change feed's cost on inserts.
	if cfg.WriteBulk > 0 {
		if sr.WriteCost, err = b.runWriteCost(ctx, logf); err != nil {
			return nil, fmt.Errorf("feed write cost: %w", err)
		}
	}

	sr.EngineOverFloor = ratio(sr.EngineScenarios["inactivity"].Median, sr.Floor.Median)
	sr.EngineOverRuleFloor = ratio(sr.EngineScenarios["inactivity"].Median, sr.RuleFloor.Median)
	sr.NaiveOverEngine = ratio(sr.Naive.Median, sr.Engine.Median)
	return sr, nil
}

// serverFlags passes the batch options that the benchmark varies to the function process.
func serverFlags(o engine.Options) []string {
	var f []string
	if o.MaxBatch > 0 {
		f = append(f, fmt.Sprintf("-max-batch=%d", o.MaxBatch))
	}
	if o.TargetBatch > 0 {
		f = append(f, "-target-batch="+o.TargetBatch.String())
	}
	if o.Parallelism > 0 {
		f = append(f, fmt.Sprintf("-parallelism=%d", o.Parallelism))
	}
	return f
}
