package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

// population adds n generated mentors relative to day0 (see pgtest.Populate).
func (b *testBundle) population(t *testing.T, n int) {
	t.Helper()
	if err := pgtest.Populate(context.Background(), b.pool, n, day0); err != nil {
		t.Fatal(err)
	}
}

func TestRepeatedRunCreatesNothingNew(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.population(t, 300)

	first := b.run(t, engine.Request{})
	if first.Status != engine.Completed || first.Totals().Notified == 0 {
		t.Fatalf("first run: status %s, %d notified; want completed with notifications", first.Status, first.Totals().Notified)
	}
	before := b.notifications(t)
	second := b.run(t, engine.Request{})
	if second.Status != engine.AlreadyCompleted || second.Totals().Notified != 0 {
		t.Errorf("second run: status %s, %d notified; want already_completed, 0", second.Status, second.Totals().Notified)
	}
	if diff := cmp.Diff(before, b.notifications(t)); diff != "" {
		t.Errorf("second run changed notifications (-before +after):\n%s", diff)
	}
	if got := b.count(t, `select count(*) from scheduler.runs where report is not null`); got != 2 {
		t.Errorf("%d run reports stored, want 2", got)
	}
}

func TestConcurrentRunsEqualOneCleanRun(t *testing.T) {
	t.Parallel()
	clean := setup(t)
	clean.population(t, 3000)
	clean.run(t, engine.Request{})
	want := clean.notifications(t)

	b := setup(t, func(o *engine.Options) { o.MaxBatch = 200 })
	b.population(t, 3000)
	const callers = 8
	reports := make([]engine.Report, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			rep, err := b.engine.Run(context.Background(), engine.Request{})
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
			reports[i] = rep
		})
	}
	wg.Wait()

	if diff := cmp.Diff(want, b.notifications(t)); diff != "" {
		for i, rep := range reports {
			for _, s := range rep.Scenarios {
				t.Logf("caller %d: %s %s after %d batches, %d evaluated: %s", i, s.Scenario, s.Status, s.Batches, s.Evaluated, s.Message)
			}
		}
		t.Fatalf("concurrent runs differ from one clean run (-clean +concurrent):\n%s", diff)
	}
	notified := 0
	for _, rep := range reports {
		for _, s := range rep.Scenarios {
			switch s.Status {
			case engine.Completed, engine.Busy, engine.AlreadyCompleted:
			default:
				t.Errorf("scenario %s: status %s (%s)", s.Scenario, s.Status, s.Message)
			}
			notified += s.Notified
		}
	}
	if notified != len(want) {
		t.Errorf("reports count %d notifications, the table holds %d", notified, len(want))
	}
	if got := b.count(t, `select count(*) from scheduler.checkpoints where done`); got != len(engine.Scenarios) {
		t.Errorf("%d checkpoints done, want %d", got, len(engine.Scenarios))
	}
}

// slowStore delays every batch, so that a small budget cuts runs short.
type slowStore struct {
	engine.Store
	delay time.Duration
}

func (s slowStore) EvaluateBatch(ctx context.Context, b engine.Batch) (engine.BatchResult, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return engine.BatchResult{}, ctx.Err()
	}
	return s.Store.EvaluateBatch(ctx, b)
}

func TestResumeAfterBudgetCut(t *testing.T) {
	t.Parallel()
	clean := setup(t)
	clean.population(t, 1000)
	clean.run(t, engine.Request{})
	want := clean.notifications(t)

	b := setup(t)
	b.population(t, 1000)
	cut := b.engineWith(slowStore{Store: b.store, delay: 20 * time.Millisecond}, func(o *engine.Options) {
		o.Budget, o.Margin, o.MinBatch, o.MaxBatch = 300*time.Millisecond, 50*time.Millisecond, 10, 100
	})

	var reports []engine.Report
	for len(reports) < 100 {
		rep, err := cut.Run(context.Background(), engine.Request{})
		if err != nil {
			t.Fatalf("call %d: %v", len(reports)+1, err)
		}
		reports = append(reports, rep)
		if rep.Status != engine.Partial {
			break
		}
		if rep.Totals().Remaining == 0 && len(rep.Scenarios) > 0 {
			// (A run whose budget ran out before it was even recorded reports no scenario and says so.)
			t.Errorf("call %d is partial but reports no remaining work", len(reports))
		}
	}
	if reports[0].Status != engine.Partial || len(reports) < 3 {
		t.Fatalf("the budget did not cut the run: %d calls, first %s", len(reports), reports[0].Status)
	}
	last := reports[len(reports)-1]
	if last.Status != engine.Completed {
		t.Fatalf("after %d calls the status is %s, want completed", len(reports), last.Status)
	}
	if diff := cmp.Diff(want, b.notifications(t)); diff != "" {
		t.Fatalf("resumed runs differ from one clean run (-clean +resumed):\n%s", diff)
	}
	notified := 0
	for _, rep := range reports {
		notified += rep.Totals().Notified
	}
	if notified != len(want) {
		t.Errorf("the reports count %d notifications, the table holds %d", notified, len(want))
	}
	if again := b.run(t, engine.Request{}); again.Status != engine.AlreadyCompleted {
		t.Errorf("call after completion: %s, want already_completed", again.Status)
	}
}

// claimAtDeadline is a store whose claims take the whole budget: the run has none left to start a scenario.
type claimAtDeadline struct {
	engine.Store
}

func (s claimAtDeadline) Claim(ctx context.Context, _ string, _ time.Time, _ string, _ engine.Part, _ time.Duration) (engine.Claim, error) {
	<-ctx.Done()
	return engine.Claim{}, ctx.Err()
}

// slowScenarioList is a store whose list of enabled scenarios takes the whole budget.
type slowScenarioList struct {
	engine.Store
}

func (s slowScenarioList) EnabledScenarios(ctx context.Context) ([]string, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A budget spent before the run knows its scenarios is a partial run to call again, not an error (an HTTP
// caller got 500 for it under load).
func TestBudgetSpentListingScenariosIsPartial(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.engineWith(slowScenarioList{Store: b.store}, func(o *engine.Options) {})
	// As the HTTP adapter calls it: the budget is the context's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	rep, err := e.Run(ctx, engine.Request{})
	if err != nil || rep.Status != engine.Partial || len(rep.Warnings) == 0 {
		t.Fatalf("run: %s %v %v; want partial, no error, a warning", rep.Status, rep.Warnings, err)
	}
}

// A scenario the budget left no time to start still reports what its checkpoint holds and what remains.
func TestScenarioNotStartedReportsItsProgress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.population(t, 300)
	// Inactivity is part-way: a run stopped after the 100th active mentor.
	b.exec(t, `insert into scheduler.checkpoints (evaluation_date, scenario, cursor, evaluated, notified)
		select $1, 'inactivity', id, 100, 7 from public.peer_mentors where status = 'active' order by id offset 99 limit 1`, day0)
	blocked := b.engineWith(claimAtDeadline{Store: b.store}, func(o *engine.Options) { o.Budget = 100 * time.Millisecond })
	rep, err := blocked.Run(context.Background(), engine.Request{Scenarios: []string{engine.Inactivity, engine.Milestone}})
	if err != nil {
		t.Fatal(err)
	}
	active := b.count(t, `select count(*) from public.peer_mentors where status = 'active'`)
	for _, sr := range rep.Scenarios {
		wantEvaluated := b.count(t, `select coalesce((select evaluated from scheduler.checkpoints
			where scenario = $1 and evaluation_date = $2), 0)`, sr.Scenario, rep.EvaluationDate)
		wantRemaining := b.count(t, `select count(*) from public.peer_mentors m where m.status = 'active'
			and m.id > coalesce((select cursor from scheduler.checkpoints where scenario = $1 and evaluation_date = $2),
			                    '00000000-0000-0000-0000-000000000000')`, sr.Scenario, rep.EvaluationDate)
		if sr.Status != engine.Partial || int(sr.Remaining) != wantRemaining || sr.TotalEvaluated != wantEvaluated {
			t.Errorf("%s: status %s, remaining %d, total evaluated %d; want partial, %d remaining, %d evaluated",
				sr.Scenario, sr.Status, sr.Remaining, sr.TotalEvaluated, wantRemaining, wantEvaluated)
		}
	}
	if scen := rep.Scenarios; len(scen) != 2 || scen[0].Remaining == 0 || scen[0].Remaining >= int64(active) || int(scen[1].Remaining) != active {
		t.Errorf("remaining per scenario %+v; want inactivity part-way and milestone all %d active mentors", scen, active)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.population(t, 200)
	dry := b.run(t, engine.Request{DryRun: true})
	if got := b.count(t, `select count(*) from public.notifications`); got != 0 {
		t.Fatalf("dry run wrote %d notifications", got)
	}
	if got := b.count(t, `select count(*) from scheduler.checkpoints`); got != 0 {
		t.Fatalf("dry run wrote %d checkpoints", got)
	}
	real := b.run(t, engine.Request{})
	for i := range dry.Scenarios {
		d, r := dry.Scenarios[i], scenario(t, real, dry.Scenarios[i].Scenario)
		if d.Notified != r.Notified || d.Evaluated != r.Evaluated {
			t.Errorf("%s: dry run predicted %d/%d (notified/evaluated), the real run did %d/%d",
				d.Scenario, d.Notified, d.Evaluated, r.Notified, r.Evaluated)
		}
	}
}

func TestInvalidRequestsWriteNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.population(t, 50)
	for _, req := range []engine.Request{
		{Scenarios: []string{"birthday"}},
		{Scenarios: []string{engine.Milestone, engine.Milestone}},
		{EvaluationDate: "2026-02-30"},
		{EvaluationDate: "02.03.2026"},
		{EvaluationDate: day(-engine.MaxPastDays - 1)},
		{EvaluationDate: day(engine.MaxFutureDays + 1)},
	} {
		_, err := b.engine.Run(context.Background(), req)
		var e *engine.Error
		if !errors.As(err, &e) || e.Code != engine.Invalid {
			t.Errorf("Run(%v) = %v, want an Invalid error", req, err)
		}
	}
	for _, table := range []string{"scheduler.runs", "scheduler.checkpoints", "public.notifications"} {
		if got := b.count(t, `select count(*) from `+table); got != 0 {
			t.Errorf("%s has %d rows after invalid requests", table, got)
		}
	}
}

func TestLeaseRenewedWhileAliveTakenOverWhenDead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.population(t, 1000)
	ctx := context.Background()

	// A run that died: it claimed the inactivity checkpoint and never came back.
	dead := "00000000-0000-4000-8000-00000000dead"
	if _, err := b.store.Claim(ctx, dead, day0, engine.Inactivity, engine.Part{}, 400*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if s := scenario(t, b.run(t, engine.Request{Scenarios: []string{engine.Inactivity}}), engine.Inactivity); s.Status != engine.Busy {
		t.Fatalf("while the dead run's lease lasts: %s, want busy", s.Status)
	}
	time.Sleep(500 * time.Millisecond)
	if s := scenario(t, b.run(t, engine.Request{Scenarios: []string{engine.Inactivity}}), engine.Inactivity); s.Status != engine.Completed {
		t.Fatalf("after the dead run's lease expired: %s, want completed", s.Status)
	}

	// A live but slow run renews its 1 s lease between batches: nobody takes over for the seconds it runs.
	// Its batches of 10 take at least 60 ms each (100 of them: 6 s or more), and a batch stays well inside
	// the lease even on a loaded machine (with a 300 ms lease, one batch slowed by two other suites on two
	// cores outlived the lease and the next run took over); the checks below span 2.8 s, past two leases.
	slow := b.engineWith(slowStore{Store: b.store, delay: 60 * time.Millisecond}, func(o *engine.Options) {
		o.Lease, o.MaxBatch, o.MinBatch = time.Second, 10, 10
	})
	done := make(chan engine.Report)
	go func() {
		rep, err := slow.Run(ctx, engine.Request{Scenarios: []string{engine.Milestone}})
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	for range 8 {
		time.Sleep(350 * time.Millisecond)
		if s := scenario(t, b.run(t, engine.Request{Scenarios: []string{engine.Milestone}}), engine.Milestone); s.Status != engine.Busy {
			t.Fatalf("while the slow run works: %s, want busy", s.Status)
		}
	}
	if s := scenario(t, <-done, engine.Milestone); s.Status != engine.Completed {
		t.Fatalf("the slow run ended %s (%s), want completed", s.Status, s.Message)
	}
}

// slowCount is a store whose counts of remaining mentors take as long as they are let (a count over a large
// part: at 1M mentors it took more than the whole final window).
type slowCount struct {
	engine.Store
}

func (s slowCount) Remaining(ctx context.Context, _ engine.Part, _ string) (int64, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// The counts of remaining mentors after a cut only inform the report: however long they would take, the
// checkpoints are still released and the report stored, and the call answers partial, not an error (at 1M
// mentors one count used up the final window and the invocation failed with "context deadline exceeded").
func TestSlowRemainingCountLeavesTheFinalWrites(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.population(t, 1000)
	cut := b.engineWith(slowCount{Store: slowStore{Store: b.store, delay: 20 * time.Millisecond}}, func(o *engine.Options) {
		o.Budget, o.Margin, o.MinBatch, o.MaxBatch = 300*time.Millisecond, 50*time.Millisecond, 10, 100
	})
	start := time.Now()
	rep, err := cut.Run(context.Background(), engine.Request{})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("the call failed after %v: %v (report %s)", took, err, rep.Status)
	}
	if rep.Status != engine.Partial {
		t.Fatalf("status %s, want partial", rep.Status)
	}
	for _, sc := range rep.Scenarios {
		if sc.Status == engine.Partial && !strings.Contains(sc.Message, "remaining mentors were not counted") {
			t.Errorf("%s: partial with an uncounted remainder, message %q", sc.Scenario, sc.Message)
		}
	}
	if took > 300*time.Millisecond+engine.FinalWindow+time.Second {
		t.Errorf("answered after %v, more than the budget and the final window", took)
	}
	if n := b.queryString(t, `select count(*)::text from scheduler.checkpoints where lease_owner is not null`); n != "0" {
		t.Errorf("%s checkpoints still leased after the call", n)
	}
	if s := b.queryString(t, `select string_agg(status, ',') from scheduler.runs`); s != "partial" {
		t.Errorf("runs: %s, want one partial run", s)
	}
}

// The count of remaining mentors reads the slot's organisations once, not once per mentor: inlined into the
// walk's filter, the call ran for every mentor and the count over 850,000 took 3.4-4.3 s instead of 0.1 s.
func TestRemainingCountReadsTheSlotOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.population(t, 200)
	ctx := context.Background()
	// Counting function calls (track_functions) is for an administrator's session.
	admin, err := pgx.Connect(ctx, pgtest.AdminURL(t, b.pool.Config().ConnString()))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var n, calls int64
	if _, err := tx.Exec(ctx, `set local track_functions = 'all'`); err != nil {
		t.Fatal(err)
	}
	for _, slot := range []string{"", "Europe/Oslo@08"} {
		if err := tx.QueryRow(ctx, `select scheduler.remaining_mentors(null, 1, 1, $1)`, slot).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.QueryRow(ctx, `select coalesce(sum(calls), 0) from pg_stat_xact_user_functions
		where schemaname = 'scheduler' and funcname = 'slot_organisations'`).Scan(&calls); err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Errorf("two counts called scheduler.slot_organisations %d times, want 2 (once each)", calls)
	}
}
