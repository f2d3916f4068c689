package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/peermentor/scenario-scheduler/engine"
)

// Targets are the figures the scheduler is held to.
const (
	targetNaiveOverEngine = 50  // at 10k mentors
	targetEngineOverFloor = 2   // inactivity, at 100k and 1M
	targetHTTP500MS       = 100 // median, warm
	targetRSSBytes        = 64 << 20
)

// WriteTable prints the summary table.
func WriteTable(w io.Writer, r *Results) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if r.OutcomesOnly {
		fmt.Fprintln(tw, "size\tactive\tfirst run (eval.)\tnudges\tnudge_outcomes\teffectiveness\t")
		for _, s := range r.Sizes {
			var o Outcomes
			if s.Outcomes != nil {
				o = *s.Outcomes
			}
			fmt.Fprintf(tw, "%s\t%d\t%s (%d×)\t%d\t%s\t%s\t\n", s.Label, s.ActiveMentors, ms(s.FirstRun.Median), s.FirstRunCalls,
				o.Nudges, ms(o.Outcomes.Median), ms(o.Effectiveness.Median))
		}
		tw.Flush()
		return
	}
	fmt.Fprintln(tw, "size\tactive\tfirst run (eval.)\tdaily engine\tdaily HTTP\tinactivity\tfloor\teng/floor\trule floor\teng/rule\tnaive\tnaive/eng\tpeak RSS\tcold start\tfeed: loop\tfeed: bulk\t")
	for _, s := range r.Sizes {
		if s.Engine.N == 0 {
			continue // -incremental-only: the first run and the incremental comparison only
		}
		naive := ms(s.Naive.Median)
		if s.NaiveExtrapolated {
			naive = "~" + naive
		}
		loop, bulk := "–", "–"
		if w := s.WriteCost; w != nil {
			loop, bulk = fmt.Sprintf("%.2f×", w.SingleRatio), fmt.Sprintf("%.2f×", w.BulkRatio)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s (%d×)\t%s\t%s\t%s\t%s\t%.2f×\t%s\t%.2f×\t%s\t%.0f×\t%.1f MB\t%s\t%s\t%s\t\n",
			s.Label, s.ActiveMentors, ms(s.FirstRun.Median), s.FirstRunCalls, ms(s.Engine.Median), ms(s.HTTP.Median),
			ms(s.EngineScenarios["inactivity"].Median), ms(s.Floor.Median), s.EngineOverFloor,
			ms(s.RuleFloor.Median), s.EngineOverRuleFloor, naive,
			s.NaiveOverEngine, float64(s.PeakRSS)/(1<<20), ms(s.ColdStart.Median), loop, bulk)
	}
	tw.Flush()
	var inc []SizeResult
	for _, s := range r.Sizes {
		if s.Incremental != nil {
			inc = append(inc, s)
		}
	}
	if len(inc) == 0 {
		return
	}
	fmt.Fprintln(w, "\nThe daily run with the change feed (delivery off; the same day, state and changes; medians):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\tchanged\tfull, no feed\tfull with state\tincremental\tfull/incr.\twith state/incr.\tevaluated (incr. / full)\tnotified\t")
	for _, s := range inc {
		i := s.Incremental
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%.1f×\t%.1f×\t%d / %d\t%d\t\n", s.Label, i.ChangedMentors, ms(i.Full.Median),
			ms(i.Reconcile.Median), ms(i.Incremental.Median), i.FullOverIncremental, i.ReconcileOverIncremental,
			i.IncrementalEvaluated, i.FullEvaluated, i.Notified)
	}
	tw.Flush()
}

// sizeList is the run's sizes as -sizes takes them.
func sizeList(r *Results) string {
	labels := make([]string, len(r.Sizes))
	for i, s := range r.Sizes {
		labels[i] = s.Label
	}
	return strings.Join(labels, ",")
}

func ms(v float64) string {
	switch {
	case v >= 10_000:
		return fmt.Sprintf("%.1f s", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func dist(d Dist) string {
	if d.N == 0 {
		return "–"
	}
	if d.N == 1 {
		return ms(d.Median)
	}
	return fmt.Sprintf("%s / %s / %s", ms(d.Min), ms(d.Median), ms(d.Max))
}

// WriteFiles writes dir/<date>.md and dir/<date>.json; an outcomes-only run writes
// dir/<date>-outcomes-<sizes>.md and .json, beside the day's full results.
func WriteFiles(dir string, r *Results) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	base := filepath.Join(dir, r.Date)
	if r.OutcomesOnly {
		base += "-outcomes-" + strings.ReplaceAll(sizeList(r), ",", "-")
	}
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(base+".json", append(raw, '\n'), 0o644); err != nil {
		return "", err
	}
	return base + ".md", os.WriteFile(base+".md", []byte(Markdown(r)), 0o644)
}

// Markdown renders the results, with each target checked.
func Markdown(r *Results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	if r.OutcomesOnly {
		p("# Benchmark results, %s: the effectiveness report's outcome computation only\n\n", r.Date)
	} else {
		p("# Benchmark results, %s\n\n", r.Date)
	}
	p("Machine: %d CPUs, %s, PostgreSQL %s; load average at start %s.\n", r.Host.CPUs, r.Host.GoVer, r.Host.Postgres, r.Host.LoadAvg)
	p("Scenarios evaluated at the same time (engine.Options.Parallelism): %d.\n", max(r.Parallelism, 1))
	if r.Conditions != "" {
		p("\n%s\n", r.Conditions)
	}
	if r.OutcomesOnly {
		p("\nReproduce: `go tool task bench SIZES=%s -- -outcomes-only -rtts none`. Each size: the first run ever (evaluation, then its pushes' delivery), ", sizeList(r))
		p("then `scheduler.nudge_outcomes` over all of its nudges and `scheduler.effectiveness` over 12 weeks, as of 14 days later, each one statement on the owner's connection. ")
		p("The daily run and the other figures were not measured in this run.\n\n")
	} else {
		p("\nReproduce: `go tool task bench` (500, 10k, 100k) or `go tool task bench:full` (adds 1M). ")
		p("Times are min / median / max over the repetitions; ratios divide medians measured in the same run, on the same database. ")
		p("Repetitions are counted after warm-up repetitions, run until two consecutive ones agreed within 10 %% (listed per size). ")
		p("feed: the change feed's triggers on the app's activity inserts, with / without (a loop of single-row inserts; one bulk insert).\n\n")
	}

	p("## Summary (medians)\n\n```\n")
	var tb strings.Builder
	WriteTable(&tb, r)
	p("%s```\n\n", tb.String())

	p("## Per size\n\n")
	for _, s := range r.Sizes {
		p("### %s mentors (%d active, %d activities)\n\n", s.Label, s.ActiveMentors, s.Activities)
		p("| measurement | min / median / max | notes |\n|---|---|---|\n")
		p("| first run ever (all scenarios, empty notifications), evaluation only | %s | %d invocation(s) of 30 s, %d notifications |\n",
			dist(s.FirstRun), s.FirstRunCalls, s.FirstNotified)
		p("| · its pushes, delivered afterwards (deliver-only calls, log sender) | %s | %d invocation(s) of 30 s, %d pushes sent |\n",
			dist(s.FirstDelivery), s.FirstDeliveryCalls, s.FirstSent)
		if r.OutcomesOnly {
			if o := s.Outcomes; o != nil {
				p("| scheduler.nudge_outcomes over the first run's nudges, as of 14 days later | %s | %d nudges, one statement |\n", dist(o.Outcomes), o.Nudges)
				p("| scheduler.effectiveness over 12 weeks, as of 14 days later | %s | one statement |\n", dist(o.Effectiveness))
			}
			p("\n")
			continue
		}
		if s.Engine.N == 0 { // -incremental-only
			incrementalSection(p, s)
			continue
		}
		p("| daily run, engine in-process | %s | %d invocation(s), %d notifications |\n", dist(s.Engine), s.EngineCalls, s.DailyNotified)
		for _, name := range []string{"inactivity", "milestone", "certification_expiry"} {
			p("| · %s | %s | |\n", name, dist(s.EngineScenarios[name]))
		}
		p("| daily run, HTTP end to end | %s | %d invocation(s); function peak RSS %.1f MB |\n",
			dist(s.HTTP), s.HTTPCalls, float64(s.PeakRSS)/(1<<20))
		for _, name := range sortedKeys(s.FloorQueries) {
			p("| floor (inactivity): %s | %s | %d inactive mentors |\n", name, dist(s.FloorQueries[name]), s.FloorCount)
		}
		for _, name := range sortedKeys(s.RuleFloorQueries) {
			p("| floor of the rule (latest activity and the spell's nudges): %s | %s | %d nudges |\n", name, dist(s.RuleFloorQueries[name]), s.RuleFloorCount)
		}
		note := fmt.Sprintf("all %d active mentors, %d queries", s.NaiveMentors, s.NaiveQueries)
		if s.NaiveExtrapolated {
			note = fmt.Sprintf("**extrapolated** linearly from the first %d mentors (%d queries)", s.NaiveMentors, s.NaiveQueries)
		}
		p("| naive per-mentor loop | %s | %s |\n", dist(s.Naive), note)
		p("| cold start (process start to ready) | %s | |\n", dist(s.ColdStart))
		if bt := s.BudgetTest; bt != nil {
			p("| run with a %d ms budget, %d ms margin | %s | worst overshoot %+.0f ms; %d batch(es) cut by the deadline |\n",
				bt.BudgetMS, bt.MarginMS, dist(bt.Runs), bt.OvershootMS, bt.CutBatches)
		}
		if len(s.WarmupEngine) > 0 {
			p("\nWarm-up repetitions (not counted): engine %s; HTTP %s.\n", msList(s.WarmupEngine), msList(s.WarmupHTTP))
		}
		if w := s.WriteCost; w != nil {
			p("\nChange feed, cost on the app's writes (inserts into public.activities spread over %d mentors, without and with the feed's triggers, interleaved):\n\n", w.Mentors)
			p("| insert | without the feed | with the feed | with / without |\n|---|---|---|---|\n")
			p("| %d single-row inserts, one transaction each | %s | %s | **%.2f×** |\n", w.SingleRows, dist(w.SingleWithout), dist(w.SingleWith), w.SingleRatio)
			p("| one insert of %d rows | %s | %s | **%.2f×** |\n", w.BulkRows, dist(w.BulkWithout), dist(w.BulkWith), w.BulkRatio)
			if len(w.Warmup) > 0 {
				p("\nWarm-up (not counted; loop without, with, bulk without, with): %s.\n", msList(w.Warmup))
			}
		}
		if o := s.Outcomes; o != nil {
			p("\nOutcomes (the effectiveness report's computation, one statement each) over the first run's %d nudges, as of 14 days later: scheduler.nudge_outcomes %s; scheduler.effectiveness over 12 weeks %s.\n",
				o.Nudges, dist(o.Outcomes), dist(o.Effectiveness))
		}
		incrementalSection(p, s)
		p("\nengine inactivity / floor: **%.2f×**; / floor of the rule: **%.2f×**; naive / engine: **%.0f×**\n\n", s.EngineOverFloor, s.EngineOverRuleFloor, s.NaiveOverEngine)
		if len(s.Network) > 0 {
			p("Over a network: function and database talk through a loopback proxy that holds every packet for half the round trip each way.\n\n")
			p("| round trip | daily run, engine | naive loop | naive / engine |\n|---|---|---|---|\n")
			for _, n := range s.Network {
				naive := dist(n.Naive)
				if n.NaiveExtrapolated {
					naive = fmt.Sprintf("~%s (**extrapolated** from %d mentors)", naive, n.NaiveMentors)
				}
				p("| %.0f ms | %s (%d invocation(s)) | %s | **%.0f×** |\n", n.RTTMS, dist(n.Engine), n.EngineCalls, naive, n.NaiveOverEngine)
			}
			p("\n")
		}
	}

	p("## Targets\n\n| target | figure | met |\n|---|---|---|\n")
	for _, s := range r.Sizes {
		if o := s.Outcomes; o != nil && s.Mentors == 1_000_000 {
			budget := float64(engine.DefaultBudget.Milliseconds())
			p("| 1M: the outcome computation within one 30 s invocation (nudge_outcomes; effectiveness, slowest repetition) | %s; %s | %s |\n",
				ms(o.Outcomes.Max), ms(o.Effectiveness.Max), yes(o.Outcomes.N > 0 && o.Outcomes.Max < budget && o.Effectiveness.Max < budget))
		}
		if r.OutcomesOnly || s.Engine.N == 0 {
			continue
		}
		switch s.Mentors {
		case 500:
			p("| 500 mentors end to end through HTTP < %d ms (median, warm) | %s | %s |\n", targetHTTP500MS, ms(s.HTTP.Median), yes(s.HTTP.Median < targetHTTP500MS))
		case 10_000:
			p("| 10k: ≥ %d× faster than the naive loop on loopback | %.0f× | %s |\n", targetNaiveOverEngine, s.NaiveOverEngine, yes(s.NaiveOverEngine >= targetNaiveOverEngine))
			for _, n := range s.Network {
				if n.RTTMS == 1 {
					p("| 10k: ≥ %d× faster than the naive loop over a 1 ms round trip (measured) | %.0f× | %s |\n", targetNaiveOverEngine, n.NaiveOverEngine, yes(n.NaiveOverEngine >= targetNaiveOverEngine && !n.NaiveExtrapolated))
				}
			}
		case 100_000, 1_000_000:
			p("| %s: inactivity within %d× of the floor (latest activity only) | %.2f× | %s |\n", s.Label, targetEngineOverFloor, s.EngineOverFloor, yes(s.EngineOverFloor <= targetEngineOverFloor))
			p("| %s: inactivity within %d× of the floor of the rule (latest activity and the spell's nudges) | %.2f× | %s |\n", s.Label, targetEngineOverFloor, s.EngineOverRuleFloor, yes(s.EngineOverRuleFloor <= targetEngineOverFloor))
		}
		if s.Mentors == 1_000_000 {
			p("| 1M: all three scenarios in one 30 s invocation (daily run, in-process) | %s, %d invocation(s) | %s |\n", ms(s.Engine.Max), s.EngineCalls, yes(s.EngineCalls == 1 && s.Engine.Max < float64(engine.DefaultBudget.Milliseconds())))
			p("| 1M: all three scenarios in one 30 s invocation (daily run, through HTTP) | %s, %d invocation(s) | %s |\n", ms(s.HTTP.Max), s.HTTPCalls, yes(s.HTTPCalls == 1 && s.HTTP.Max < float64(engine.DefaultBudget.Milliseconds())))
			p("| 1M: first run ever (evaluation) in at most 2 invocations | %s, %d invocation(s) | %s |\n", ms(s.FirstRun.Max), s.FirstRunCalls, yes(s.FirstRunCalls <= 2))
		}
		if w := s.WriteCost; w != nil {
			p("| %s: the change feed adds at most %.0f %% to the activity inserts (loop; bulk) | %+.0f %%; %+.0f %% | %s |\n", s.Label,
				(targetFeedOverhead-1)*100, (w.SingleRatio-1)*100, (w.BulkRatio-1)*100, yes(w.SingleRatio <= targetFeedOverhead && w.BulkRatio <= targetFeedOverhead))
		}
		if bt := s.BudgetTest; bt != nil {
			p("| %s: a cut-off run ends within its margin of the budget | %+.0f ms (margin %d ms) | %s |\n", s.Label, bt.OvershootMS, bt.MarginMS, yes(bt.OvershootMS <= float64(bt.MarginMS)))
		}
	}
	if r.OutcomesOnly {
		return b.String()
	}
	var worst int64
	for _, s := range r.Sizes {
		worst = max(worst, s.PeakRSS)
	}
	p("| peak RSS of the function < 64 MB at every size | %.1f MB | %s |\n", float64(worst)/(1<<20), yes(worst < targetRSSBytes))
	return b.String()
}

// msList renders times in ms, in order.
func msList(v []float64) string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = ms(x)
	}
	return strings.Join(out, ", ")
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// incrementalSection writes a size's incremental comparison, when it was measured.
func incrementalSection(p func(string, ...any), s SizeResult) {
	if i := s.Incremental; i != nil {
		p("\nThe daily run with the change feed (delivery off), side by side on the same day: the previous day evaluated in full with the state kept, then an activity registered yesterday for %d mentors (every 22nd active one), state and feed restored before each run (%d state rows):\n\n", i.ChangedMentors, i.StateRows)
		p("| run | min / median / max | notes |\n|---|---|---|\n")
		p("| full, without the feed (the evaluation before the incremental run) | %s | %d mentor evaluations (all scenarios), %d notifications |\n", dist(i.Full), i.FullEvaluated, i.Notified)
		p("| full, with the feed (a reconciliation: evaluation and state upkeep) | %s | %d mentor evaluations |\n", dist(i.Reconcile), i.FullEvaluated)
		p("| incremental | %s | %d mentor evaluations, the same notifications (count and digest checked) |\n", dist(i.Incremental), i.IncrementalEvaluated)
		p("\nfull / incremental: **%.1f×**; full with state / incremental: **%.1f×**\n", i.FullOverIncremental, i.ReconcileOverIncremental)
		if len(i.Warmup) > 0 {
			var ws []string
			for _, x := range i.Warmup {
				ws = append(ws, msList(x[:]))
			}
			p("\nWarm-up (not counted; full, with state, incremental): %s.\n", strings.Join(ws, "; "))
		}
	}
}
