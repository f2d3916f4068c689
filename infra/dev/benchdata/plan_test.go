package benchdata_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/dev/benchdata"
)

// guardedTables must never be read with a sequential scan by a batch: they grow with the organisation
// (activities) and with every day the scheduler runs (notifications, held-out nudges).
var guardedTables = map[string]bool{"activities": true, "notifications": true, "held_out_nudges": true}

// TestBatchPlans guards the plans of every statement scheduler.evaluate_batch runs, as PostgreSQL really
// executes them (auto_explain with nested statements, JSON format), over a generated and ANALYZEd dataset
// with a day of notifications behind it, with sequential scans disabled (see below). It fails on a sequential scan of a guarded table or on a SubPlan
// (a correlated subquery run once per row), on certifications probed once per mentor, and on a JIT-compiled
// statement. Each scenario's batch runs more than five times, so that
// PL/pgSQL's generic plan, not only its first custom plans, is checked.
func TestBatchPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := benchdata.Load(ctx, conn, benchdata.Spec{Mentors: 4000, Seed: benchdata.DefaultSeed}, nil); err != nil {
		t.Fatal(err)
	}

	// A 10 % holdout of every scenario: the rules read held-out nudges beside the notifications
	// (scheduler.sent_nudges), and those reads are guarded too.
	if _, err := conn.Exec(ctx, `update scheduler.scenario_config set holdout_percent = 10 where organisation_id is null`); err != nil {
		t.Fatal(err)
	}
	// Yesterday's run leaves notifications (cooldowns, milestones, rungs) for today's batches to check.
	store, err := postgres.Open(ctx, postgres.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	today := benchdata.Today
	eng := engine.New(store, engine.Options{Now: func() time.Time { return today.Add(7 * time.Hour) }})
	rep, err := eng.Run(ctx, engine.Request{EvaluationDate: today.AddDate(0, 0, -1).Format(engine.DateLayout)})
	if err != nil || rep.Status != engine.Completed || rep.Totals().Notified == 0 {
		t.Fatalf("yesterday's run: status %s, %d notified, err %v", rep.Status, rep.Totals().Notified, err)
	}
	if _, err := conn.Exec(ctx, `vacuum (analyze) public.notifications, scheduler.held_out_nudges`); err != nil {
		t.Fatal(err)
	}

	var (
		mu    sync.Mutex
		plans []string
	)
	// auto_explain can only be loaded by a superuser: the plans are read through an administrator's session.
	cfg, err := pgx.ParseConfig(pgtest.AdminURL(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		defer mu.Unlock()
		plans = append(plans, n.Message)
	}
	ex, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close(ctx)
	for _, s := range []string{
		`load 'auto_explain'`,
		`set auto_explain.log_min_duration = 0`,
		`set auto_explain.log_nested_statements = on`,
		`set auto_explain.log_format = json`,
		`set auto_explain.log_level = notice`,
		`set client_min_messages = notice`,
		// On a few thousand rows a sequential scan can honestly be the cheapest plan. Disabling it makes
		// the planner take an index wherever one can serve the access, so a sequential scan that remains
		// means no index serves it: exactly what a schema change must not cause.
		`set enable_seqscan = off`,
		// Every statement is worth compiling by this session's measure: a batch that is JIT-compiled all
		// the same did not switch JIT off for itself (at a million mentors its first calls on a connection
		// spent about 0.5 s each compiling).
		`set jit_above_cost = 0`,
	} {
		if _, err := ex.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}

	// The store's call: the whole range (shard 1 of 1), and one shard of four, whose walk is bounded above;
	// dry runs (no claim, no state written) in the mode the state allows (yesterday's full evaluation
	// reconciled the whole range: incremental; the shard: never reconciled, full), then in full (reconcile()),
	// then real batches, which keep the state and read the change feed: a full evaluation of today (its first
	// seven batches checked) and an incremental one of tomorrow.
	type run struct {
		label         string
		scenario      string
		shard, shards int
		kept          bool
	}
	var runs []run
	for _, label := range []string{"dry, as the state allows", "dry, full", "kept, full", "kept, incremental"} {
		for _, scenario := range []string{engine.Inactivity, engine.Milestone, engine.CertificationExpiry} {
			if strings.HasPrefix(label, "kept") {
				runs = append(runs, run{label, scenario, 1, 1, true})
				continue
			}
			runs = append(runs, run{label, scenario, 1, 1, false}, run{label, scenario, 2, 4, false})
		}
	}
	batch := func(runID, scenario string, d time.Time, cursor *string, r run) (next *string, done bool, err error) {
		limit := 200
		if r.label == "kept, incremental" {
			limit = 20 // the due mentors are fewer: seven batches of them
		}
		err = ex.QueryRow(ctx, `select next_cursor::text, done from scheduler.evaluate_batch($1, $2, $3, $4, $5, $6, $7, $8, '')`,
			runID, scenario, d, cursor, limit, !r.kept, r.shard, r.shards).Scan(&next, &done)
		return next, done, err
	}
	claim := func(runID, scenario string, d time.Time) {
		if _, err := ex.Exec(ctx, `select scheduler.claim_checkpoint($1, $2, $3, 600000, 1, 1, '')`, runID, d, scenario); err != nil {
			t.Fatalf("claiming %s for %s: %v", scenario, d.Format(time.DateOnly), err)
		}
	}
	for _, r := range runs {
		scenario := r.scenario
		d := today
		switch {
		case r.label == "dry, full" && scenario == engine.Inactivity && r.shards == 1:
			if _, err := ex.Exec(ctx, `select scheduler.reconcile()`); err != nil {
				t.Fatal(err)
			}
		case r.label == "kept, incremental":
			d = today.AddDate(0, 0, 1)
			if scenario == engine.Inactivity {
				// Changes for the feed: an activity today for every tenth mentor (the app's triggers note them).
				if _, err := conn.Exec(ctx, `insert into public.activities (user_id, activity_date)
					select m.id, $1::date from public.peer_mentors m where m.status = 'active' and abs(hashtext(m.id::text)) % 10 = 0`, today); err != nil {
					t.Fatal(err)
				}
			}
		}
		var runID string
		if err := ex.QueryRow(ctx, `select gen_random_uuid()::text`).Scan(&runID); err != nil {
			t.Fatal(err)
		}
		if r.kept {
			claim(runID, scenario, d)
		}
		mu.Lock()
		plans = plans[:0]
		mu.Unlock()
		var cursor *string
		for b := range 7 {
			var err error
			var done bool
			if cursor, done, err = batch(runID, scenario, d, cursor, r); err != nil {
				t.Fatalf("%s, %s batch %d: %v", r.label, scenario, b, err)
			}
			if done && r.kept {
				break // a claimed checkpoint that is done takes no further batch
			}
		}
		mu.Lock()
		got := append([]string(nil), plans...)
		mu.Unlock()
		checked := 0
		for _, msg := range got {
			_, js, ok := strings.Cut(msg, "plan:")
			if !ok {
				continue
			}
			var doc struct {
				QueryText string         `json:"Query Text"`
				Plan      map[string]any `json:"Plan"`
				JIT       map[string]any `json:"JIT"`
			}
			if err := json.Unmarshal([]byte(js), &doc); err != nil {
				t.Fatalf("%s: auto_explain output is not JSON: %v\n%s", scenario, err, js)
			}
			// The mode's decision (scheduler.state_mode: whether the change feed's triggers are installed) reads
			// the catalog, once per checkpoint (in a dry run, once per batch): no batch's data, nothing that grows.
			if strings.Contains(doc.QueryText, "pg_catalog.pg_trigger") || strings.Contains(doc.QueryText, "pg_catalog.pg_rewrite") {
				continue
			}
			checked++
			// The test's own call of evaluate_batch runs under this session's settings; what it runs inside does not.
			if doc.JIT != nil && !strings.Contains(doc.QueryText, "from scheduler.evaluate_batch(") {
				t.Errorf("%s, %s: JIT-compiled (%v) in\n%s", r.label, scenario, doc.JIT, doc.QueryText)
			}
			for _, bad := range violations(doc.Plan, "") {
				t.Errorf("%s, %s: %s in\n%s", r.label, scenario, bad, doc.QueryText)
			}
		}
		if checked < 7 {
			t.Fatalf("%s: only %d plans were logged; auto_explain did not see the batches", scenario, checked)
		}
		// A full evaluation of today goes on to its end, unchecked: it reconciles the state for tomorrow's.
		for done := false; r.label == "kept, full" && !done; {
			var err error
			if cursor, done, err = batch(runID, scenario, d, cursor, r); err != nil {
				t.Fatalf("%s, %s: %v", r.label, scenario, err)
			}
		}
	}
}

// inlinedRules are the plain-SQL functions of the rules besides the *_candidates, *_assessment and *_facts functions
// (supabase/migrations/20261207110000_rules_composed.sql).
var inlinedRules = map[string]bool{"walk": true, "batch_mentors": true, "batch_certifications": true, "evaluated_mentors": true, "candidates": true, "sent_on": true,
	"cooldown_until": true, "effective_config": true}

// violations walks a JSON plan and names every sequential scan of a guarded table, every SubPlan and every
// candidate function that was not inlined.
func violations(node map[string]any, path string) []string {
	var out []string
	typ, _ := node["Node Type"].(string)
	here := path + "/" + typ
	if rel, _ := node["Relation Name"].(string); typ == "Seq Scan" && guardedTables[rel] {
		out = append(out, fmt.Sprintf("sequential scan of %s at %s", rel, here))
	}
	// The rules are small plain-SQL functions (the walk, the dispatch, the candidates and facts functions,
	// the duplicate and cooldown checks) so that the planner inlines them into the batch's statement; a
	// function scan of one means it was not inlined (a SET clause, SECURITY DEFINER or volatility prevents
	// it).
	if fn, _ := node["Function Name"].(string); typ == "Function Scan" &&
		(strings.HasSuffix(fn, "_candidates") || strings.HasSuffix(fn, "_assessment") || strings.HasSuffix(fn, "_facts") || inlinedRules[fn]) {
		out = append(out, fmt.Sprintf("%s not inlined (function scan) at %s", fn, here))
	}
	// A certification batch reads the certifications of its mentors' range inside the widest rung, once;
	// a probe per mentor (user_id = the mentor) is what it replaced. An incremental batch's ids as a constant
	// (user_id = ANY ('{...}')) are one scan of the index, not a probe per mentor.
	if rel, _ := node["Relation Name"].(string); rel == "certifications" {
		if cond, _ := node["Index Cond"].(string); strings.Contains(strings.ReplaceAll(cond, "user_id = ANY (", ""), "user_id = ") {
			out = append(out, fmt.Sprintf("certifications probed per mentor (%s) at %s", cond, here))
		}
	}
	children, _ := node["Plans"].([]any)
	for _, c := range children {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		// A SubPlan runs once per row of its parent, unless the parent's condition says it is hashed: then it
		// runs once and each row is a hash lookup (an incremental batch's ids: `m.id in (select unnest(p_ids))`).
		if pr, _ := m["Parent Relationship"].(string); pr == "SubPlan" {
			if name, _ := m["Subplan Name"].(string); !hashedIn(node, name) {
				out = append(out, fmt.Sprintf("per-row %s at %s/%s", name, here, m["Node Type"]))
			}
		}
		out = append(out, violations(m, here)...)
	}
	return out
}

// hashedIn says whether one of node's conditions uses the SubPlan name as a hashed SubPlan.
func hashedIn(node map[string]any, name string) bool {
	for _, key := range []string{"Filter", "Join Filter", "Index Cond", "Recheck Cond", "Hash Cond", "One-Time Filter"} {
		if cond, _ := node[key].(string); strings.Contains(cond, "hashed "+name+")") || strings.HasSuffix(cond, "hashed "+name) {
			return true
		}
	}
	return false
}
