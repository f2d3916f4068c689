package engine_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	"github.com/peermentor/scenario-scheduler/engine"
)

// quoted finds the single-quoted names in a piece of SQL.
var quoted = regexp.MustCompile(`'([a-z_]+)'`)

func names(sql string) []string {
	var out []string
	for _, m := range quoted.FindAllStringSubmatch(sql, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

// TestScenarioRegistry holds engine.Scenarios against the SQL of the migrated database: the check
// constraint of scheduler.scenario_config, its default rows (evaluate_batch's guard), the dispatch
// (scheduler.candidates) to one candidates function per scenario, and the data keys each scenario's notifications carry.
// A scenario added on one side only fails here.
func TestScenarioRegistry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	want := slices.Sorted(slices.Values(engine.Scenarios))

	var check string
	if err := b.pool.QueryRow(ctx, `select pg_get_constraintdef(c.oid) from pg_constraint c
		where c.conrelid = 'scheduler.scenario_config'::regclass and c.contype = 'c'
		  and pg_get_constraintdef(c.oid) like '%scenario = ANY%'`).Scan(&check); err != nil {
		t.Fatalf("the check constraint on scheduler.scenario_config.scenario: %v", err)
	}
	if got := names(check); !slices.Equal(got, want) {
		t.Errorf("scenario_config check constraint allows %v, engine.Scenarios %v", got, want)
	}

	var defaults []string
	rows, err := b.pool.Query(ctx, `select scenario from scheduler.scenario_config where organisation_id is null order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		defaults = append(defaults, s)
	}
	if !slices.Equal(defaults, want) {
		t.Errorf("default configuration rows for %v, engine.Scenarios %v", defaults, want)
	}

	// The dispatch: one line per scenario in scheduler.candidates, to a candidates function that exists.
	// (evaluate_batch refuses a scenario without a default configuration row, checked above.)
	var src string
	if err := b.pool.QueryRow(ctx, `select prosrc from pg_proc where oid = 'scheduler.candidates(text,date,uuid,uuid,uuid[],boolean)'::regprocedure`).Scan(&src); err != nil {
		t.Fatal(err)
	}
	var dispatched []string
	for _, m := range regexp.MustCompile(`(?s)from scheduler\.(\w+_(?:candidates|assessment))\([^)]*\)(?: c)?\s*where p_scenario = '([a-z_]+)'`).FindAllStringSubmatch(src, -1) {
		dispatched = append(dispatched, m[2])
		var exists bool
		if err := b.pool.QueryRow(ctx, `select to_regproc('scheduler.' || $1) is not null`, m[1]).Scan(&exists); err != nil || !exists {
			t.Errorf("scheduler.candidates dispatches %s to scheduler.%s, which does not exist", m[2], m[1])
		}
	}
	if slices.Sort(dispatched); !slices.Equal(dispatched, want) {
		t.Errorf("scheduler.candidates dispatches %v, engine.Scenarios %v", dispatched, want)
	}

	// The data keys: a run over a generated population notifies every scenario; each notification's data
	// carries the keys engine.DataKeys names for its scenario.
	b.population(t, 500)
	if rep := b.run(t, engine.Request{}); rep.Status != engine.Completed {
		t.Fatalf("run: %s", rep.Status)
	}
	rows, err = b.pool.Query(ctx, `select scenario, data from public.notifications`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for rows.Next() {
		var s string
		var data []byte
		if err := rows.Scan(&s, &data); err != nil {
			t.Fatal(err)
		}
		var d map[string]json.RawMessage
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		keys, ok := engine.DataKeys[s]
		if !ok {
			t.Fatalf("a notification of scenario %q, which engine.DataKeys does not name", s)
		}
		for _, k := range keys {
			if _, ok := d[k]; !ok {
				t.Fatalf("%s notification without data key %q: %s", s, k, data)
			}
		}
		seen[s]++
	}
	for _, s := range engine.Scenarios {
		if seen[s] == 0 {
			t.Errorf("the population produced no %s notification: its data keys went unchecked", s)
		}
	}
}
