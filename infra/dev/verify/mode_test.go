package verify_test

import (
	"strings"
	"testing"

	"github.com/peermentor/scenario-scheduler/infra/dev/verify"
)

// The mode line says incremental or full once when every scenario agrees, and per scenario otherwise.
func TestSummariseModes(t *testing.T) {
	t.Parallel()
	line := func(scenario, mode, reason string) verify.ModeLine {
		return verify.ModeLine{Scenario: scenario, Mode: mode, Reason: reason, Due: 12, Waiting: 3}
	}
	for _, tc := range []struct {
		name string
		ms   []verify.ModeLine
		want string
	}{
		{"incremental", []verify.ModeLine{line("milestone", "incremental", "state_valid"), line("inactivity", "incremental", "state_valid")},
			"incremental (state_valid); 12 mentors due by today, 3 changes waiting in the feed"},
		{"no feed", []verify.ModeLine{line("milestone", "full", "no_feed"), line("inactivity", "full", "no_feed")},
			"full every day: the change feed is not installed"},
		{"mixed", []verify.ModeLine{line("milestone", "incremental", "state_valid"), line("inactivity", "full", "reconcile_due")},
			"milestone incremental (state_valid), inactivity full (reconcile_due); 12 mentors due"},
		{"old database", nil, "full every day (this database predates the incremental run)"},
	} {
		if got := verify.SummariseModes(tc.ms); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want it to start with %q", tc.name, got, tc.want)
		}
	}
}
