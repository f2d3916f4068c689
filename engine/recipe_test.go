package engine_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/peermentor/scenario-scheduler/engine"
)

// welcome is the scenario supabase/testdata/recipe_welcome.sql adds by the recipe of docs/architecture.md.
const welcome = "welcome"

// TestAddingAScenarioRecipe follows "Adding a scenario" (docs/architecture.md) as written: the Go registry
// entries (step 1, here for the test's duration), the SQL of step 2 (supabase/testdata/recipe_welcome.sql:
// a candidates function, one line in the dispatch, the check constraint and the default row), then runs the
// new scenario end to end through the engine and explains it.
//
// Not parallel: it changes engine.Scenarios and engine.DataKeys while it runs, and the package's parallel
// tests start only after the sequential ones have finished.
func TestAddingAScenarioRecipe(t *testing.T) {
	scenarios, dataKeys := engine.Scenarios, engine.DataKeys
	t.Cleanup(func() { engine.Scenarios, engine.DataKeys = scenarios, dataKeys })
	engine.Scenarios = append(slices.Clone(scenarios), welcome)
	engine.DataKeys = maps.Clone(dataKeys)
	engine.DataKeys[welcome] = []string{"joined_on", "days_since_joining"}

	b := setup(t)
	sql, err := os.ReadFile("../supabase/testdata/recipe_welcome.sql")
	if err != nil {
		t.Fatal(err)
	}
	b.exec(t, string(sql))

	newcomer := b.mentor(t, "active", -3) // joined three days ago, no activity: welcomed
	b.mentor(t, "active", -30)            // joined a month ago: not
	started := b.mentor(t, "active", -2)  // already registered an activity: not
	b.activities(t, started, -1)
	b.mentor(t, "paused", -1) // not active: not evaluated

	// Every enabled scenario, as the daily job asks: the new one is among them, evaluated like the others.
	b.setToday(0)
	rep := b.run(t, engine.Request{})
	if rep.Status != engine.Completed {
		t.Fatalf("run: %s", rep.Status)
	}
	w := scenario(t, rep, welcome)
	if w.Status != engine.Completed || w.Evaluated != 3 || w.Notified != 1 {
		t.Errorf("welcome: %+v, want completed with 3 evaluated and 1 notified", w)
	}
	var got []notification
	for _, n := range b.notifications(t) {
		if n.Scenario == welcome {
			got = append(got, n)
		}
	}
	want := []notification{{newcomer, welcome, day(0), "welcome:" + newcomer,
		fmt.Sprintf(`{"joined_on": "%s", "days_since_joining": 3}`, day(-3))}}
	if !slices.Equal(got, want) {
		t.Errorf("welcome notifications %v, want %v", got, want)
	}

	// Once ever: the next day's candidate is a duplicate.
	b.setToday(1)
	rep = b.run(t, engine.Request{Scenarios: []string{welcome}})
	if w := scenario(t, rep, welcome); w.Notified != 0 || w.Duplicates != 1 {
		t.Errorf("the next day: %+v, want 0 notified and 1 duplicate", w)
	}

	// explain answers for it from the same functions, without a branch of its own.
	var outcome, reason string
	var notifications []byte
	if err := b.pool.QueryRow(t.Context(), `select outcome, reason, notifications from scheduler.explain($1::uuid, $2::date)
		where scenario = $3`, newcomer, day(0), welcome).Scan(&outcome, &reason, &notifications); err != nil {
		t.Fatalf("explain: %v", err)
	}
	var ns []struct {
		Key string `json:"idempotency_key"`
	}
	if err := json.Unmarshal(notifications, &ns); err != nil || outcome != "notified" || len(ns) != 1 || ns[0].Key != "welcome:"+newcomer {
		t.Errorf("explain: %s (%s) %s, want notified with the welcome notification", outcome, reason, notifications)
	}
	if err := b.pool.QueryRow(t.Context(), `select outcome from scheduler.explain($1::uuid, $2::date) where scenario = $3`,
		newcomer, day(1), welcome).Scan(&outcome); err != nil || outcome != "already_sent" {
		t.Errorf("explain the next day: %q (%v), want already_sent", outcome, err)
	}
}
