package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An outcomes-only run (bench -outcomes-only) measured the first run and the outcome computation and nothing
// else: its report must not show the unmeasured daily figures as zeros, nor count them as targets met, and it
// must not overwrite the day's full results.
func TestOutcomesOnlyReportShowsWhatWasMeasured(t *testing.T) {
	outcomes := func(outcomesMS, effectivenessMS float64) *Results {
		return &Results{Date: "2026-12-07", OutcomesOnly: true, Sizes: []SizeResult{{
			Label: "1m", Mentors: 1_000_000, ActiveMentors: 899_429,
			FirstRun: Dist{N: 1, Min: 66_810, Median: 66_810, Max: 66_810}, FirstRunCalls: 3, FirstNotified: 1_167_246,
			Outcomes: &Outcomes{Nudges: 1_167_246,
				Outcomes:      Dist{N: 3, Min: outcomesMS - 100, Median: outcomesMS - 50, Max: outcomesMS},
				Effectiveness: Dist{N: 3, Min: effectivenessMS - 100, Median: effectivenessMS - 50, Max: effectivenessMS}},
		}}}
	}
	md := Markdown(outcomes(7_084, 7_962))
	for _, unmeasured := range []string{"| daily run", "naive", "peak RSS", "cold start", "floor"} {
		if strings.Contains(md, unmeasured) {
			t.Errorf("an outcomes-only report mentions %q, which it did not measure:\n%s", unmeasured, md)
		}
	}
	for _, want := range []string{"1167246 nudges", "7.08 s", "7.96 s",
		"| 1M: the outcome computation within one 30 s invocation (nudge_outcomes; effectiveness, slowest repetition) | 7.08 s; 7.96 s | yes |"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	if slow := Markdown(outcomes(7_084, 31_000)); !strings.Contains(slow, "| 7.08 s; 31.0 s | **no** |") {
		t.Errorf("an effectiveness over the budget is not reported as missed:\n%s", slow)
	}

	dir := t.TempDir()
	path, err := WriteFiles(dir, outcomes(7_084, 7_962))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := filepath.Base(path), "2026-12-07-outcomes-1m.md"; got != want {
		t.Errorf("written to %s, want %s (beside the day's full results, not over them)", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "2026-12-07-outcomes-1m.json")); err != nil {
		t.Error(err)
	}
}
