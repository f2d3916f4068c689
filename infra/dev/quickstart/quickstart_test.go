package quickstart_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/zap"

	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/dev/quickstart"
)

// expectedDemo derives the first run's report from the rules written at the top of supabase/seed.sql,
// independently of the SQL that evaluates them.
func expectedDemo() []engine.ScenarioReport {
	var cert, milestone, inactivity, active int
	for i := 1; i <= 504; i++ {
		if i%25 == 0 { // paused
			continue
		}
		active++
		activities := 0
		if i%10 != 0 {
			activities = (i*7)%53 + 1
		}
		var daysSinceLast int
		switch {
		case i%10 == 0:
			daysSinceLast = 30 + i%300 // never active: counted from joined_on
		case i%10 == 1:
			daysSinceLast = 14
		case i%10 == 2:
			daysSinceLast = 13
		case i%10 == 3:
			daysSinceLast = 30 + i%20
		default:
			daysSinceLast = i % 7
		}
		if daysSinceLast >= 14 {
			inactivity++
		}
		if activities >= 10 {
			milestone++ // one notification, for the highest level reached
		}
		if daysLeft := (i*11)%45 - 5; i%4 == 0 && daysLeft >= 0 && daysLeft <= 30 {
			cert++
		}
	}
	row := func(name string, notified int) engine.ScenarioReport {
		// The demo's app has the change feed: its first run is full and keeps the state for the next days.
		return engine.ScenarioReport{Scenario: name, Status: engine.Completed, Evaluated: active, Notified: notified,
			TotalEvaluated: active, TotalNotified: notified, Batches: 1,
			Mode: engine.ModeFull, ModeReason: "never_reconciled"}
	}
	return []engine.ScenarioReport{
		row(engine.CertificationExpiry, cert), row(engine.Milestone, milestone), row(engine.Inactivity, inactivity),
	}
}

func TestQuickStartDemo(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	var out bytes.Buffer
	res, err := quickstart.Run(context.Background(), url, &out, zap.NewNop())
	if err != nil {
		t.Fatalf("quick start: %v\n%s", err, out.String())
	}

	// The demo calls as the daily job does: no slot, the whole project, today in Europe/Oslo.
	today := time.Now().In(oslo(t)).Format(engine.DateLayout)
	if res.First.Slot != "" || res.Second.Slot != "" || res.First.EvaluationDate != today {
		t.Errorf("slots %q and %q for %s, want both calls without a slot, for %s, as the daily job calls",
			res.First.Slot, res.Second.Slot, res.First.EvaluationDate, today)
	}
	if res.First.Status != engine.Completed {
		t.Errorf("first invocation: %s, want completed in one invocation", res.First.Status)
	}
	ignore := cmpopts.IgnoreFields(engine.ScenarioReport{}, "DurationMS")
	if diff := cmp.Diff(expectedDemo(), res.First.Scenarios, ignore); diff != "" {
		t.Errorf("first report (-want +got):\n%s", diff)
	}
	if res.Second.Status != engine.AlreadyCompleted || res.Second.Totals().Notified != 0 {
		t.Errorf("second invocation: %s with %d notified, want already_completed with 0", res.Second.Status, res.Second.Totals().Notified)
	}
	// The simulated history's effectiveness line closes the demo: the nudged group against the holdout.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "effectiveness (goal within 14 days") ||
		!strings.Contains(last, "inactivity") || !strings.Contains(last, "held out") {
		t.Errorf("the demo's last line is %q, want the effectiveness line with the inactivity holdout", last)
	}
	for _, want := range []string{"COMPLETED", "ALREADY_COMPLETED", "certification_expiry", "The second call created 0 notifications"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the printed report lacks %q:\n%s", want, out.String())
		}
	}
}

func oslo(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
