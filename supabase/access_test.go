package supabase_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/dev/localpg"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// The function's role runs a whole engine run through adapters/postgres with nothing but its grants.
func TestFunctionRoleRunsTheEngine(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	admin := connect(t, dbURL)
	if err := postgres.ApplySQL(ctx, admin, supabase.Seed); err != nil {
		t.Fatalf("seeding: %v", err)
	}
	fnURL := loginRole(t, admin, dbURL)

	store, err := postgres.Open(ctx, postgres.Config{URL: fnURL})
	if err != nil {
		t.Fatalf("connecting as the function role: %v", err)
	}
	t.Cleanup(store.Close)
	rep, err := engine.New(store, engine.Options{}).Run(ctx, engine.Request{Trigger: "cron:scenario-scheduler-daily"})
	if err != nil {
		t.Fatalf("engine run as the function role: %v", err)
	}
	if rep.Status != engine.Completed {
		t.Fatalf("run status %s, want completed: %+v", rep.Status, rep)
	}
	var stored int
	if err := admin.QueryRow(ctx, `select count(*) from public.notifications where run_id = $1`, rep.RunID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if n := rep.Totals().Notified; n == 0 || n != stored {
		t.Errorf("report says %d notifications, the table holds %d for the run; want the same, more than 0", n, stored)
	}

	// The role explains, read-only: one row per scenario for a demo mentor, each "notified" matching a
	// notification of the run; an unknown mentor is a clear error, not a permission error.
	fn := connect(t, fnURL)
	var answers, notified, matching int
	if err := fn.QueryRow(ctx, `select count(*), count(*) filter (where e.outcome = 'notified'),
		count(*) filter (where e.outcome = 'notified' and e.notifications is not null)
		from scheduler.explain(md5('demo-mentor-3')::uuid, $1::date) e`, rep.EvaluationDate).Scan(&answers, &notified, &matching); err != nil {
		t.Fatalf("as the function role, scheduler.explain: %v", err)
	}
	if answers != len(engine.Scenarios) || notified == 0 || matching != notified {
		t.Errorf("explain as the function role: %d answers (%d notified, %d with notifications), want %d answers and some notified",
			answers, notified, matching, len(engine.Scenarios))
	}
	if _, err := fn.Exec(ctx, `select * from scheduler.explain(gen_random_uuid(), $1::date)`, rep.EvaluationDate); sqlState(err) != "22023" {
		t.Errorf("explain of an unknown mentor as the function role: %v, want SQLSTATE 22023", err)
	}
	var volatile string
	if err := admin.QueryRow(ctx, `select provolatile::text from pg_proc where oid = 'scheduler.explain(uuid, date)'::regprocedure`).Scan(&volatile); err != nil || volatile != "s" {
		t.Errorf("scheduler.explain volatility %q (%v), want s (STABLE: it cannot write)", volatile, err)
	}
}

// The function's role can reach the data only through the scheduler's functions.
func TestFunctionRoleHasNoTablePrivileges(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	admin := connect(t, dbURL)
	fn := connect(t, loginRole(t, admin, dbURL))

	denied := []string{
		`select * from public.notifications`,
		`insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key, priority)
		 values (gen_random_uuid(), gen_random_uuid(), 'inactivity', current_date, 'x', 1)`,
		`delete from public.notifications`,
		`select * from public.peer_mentors`,
		`select * from public.activities`,
		`select * from scheduler_source.peer_mentors`,
		`update scheduler_source.device_tokens set disabled = true`,
		`select * from scheduler.source_problems()`,
		`select * from scheduler.scenario_config`,
		`insert into scheduler.runs (id, evaluation_date, trigger) values (gen_random_uuid(), current_date, 'x')`,
		`update scheduler.checkpoints set done = true`,
		`select * from scheduler.effective_config('inactivity')`,
		`select * from scheduler.inactivity_assessment(current_date, null, null, null, false)`,
		`select scheduler.invoke()`,
		`select * from scheduler.schedule_split()`,
	}
	for _, q := range denied {
		if _, err := fn.Exec(ctx, q); sqlState(err) != "42501" {
			t.Errorf("as the function role: %s\n  got %v, want SQLSTATE 42501 (insufficient privilege)", q, err)
		}
	}
	if _, err := fn.Exec(ctx, `select * from scheduler.enabled_scenarios()`); err != nil {
		t.Errorf("as the function role, scheduler.enabled_scenarios(): %v", err)
	}
}

// The function role may execute exactly the scheduler functions the store's source calls: a function the
// store starts calling without a grant, or a grant nothing uses, fails here; and scheduler.explain (read-only,
// for `task explain`, infra/dev/explain). Names, not signatures: the pgTAP test scheduler_access_test.sql lists
// the signatures, and compat_test.go holds every signature to a caller.
func TestFunctionRoleExecutesWhatTheStoreCalls(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../adapters/postgres/*.go", "../infra/dev/explain/*.go"} {
		fs, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	called := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`scheduler\.([a-z_]+)\(`).FindAllStringSubmatch(string(src), -1) {
			called[m[1]] = true
		}
	}
	conn := connect(t, pgtestDatabase(t))
	rows, err := conn.Query(context.Background(), `select distinct p.proname::text from pg_proc p
		where p.pronamespace = 'scheduler'::regnamespace and has_function_privilege('scenario_scheduler', p.oid, 'execute')`)
	if err != nil {
		t.Fatal(err)
	}
	granted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(maps.Keys(called))
	slices.Sort(granted)
	if diff := cmp.Diff(want, granted); diff != "" {
		t.Errorf("functions the store calls (-) vs functions scenario_scheduler may execute (+):\n%s", diff)
	}
}

// Row-level security: through Supabase's API roles a mentor reads only their own notifications and
// writes none; anon reads nothing. The database is bootstrapped like a Supabase project before migrating.
func TestRowLevelSecurity(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewEmptyDatabase(t)
	conn := connect(t, dbURL)
	if err := postgres.ApplySQL(ctx, conn, localpg.SupabaseBootstrap); err != nil {
		t.Fatalf("bootstrapping: %v", err)
	}
	ms, err := postgres.LoadMigrations(supabase.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Migrate(ctx, conn, ms); err != nil {
		t.Fatal(err)
	}
	// The reference app, whose own tables carry their own row-level security.
	if err := postgres.ApplySQL(ctx, conn, supabase.Reference()); err != nil {
		t.Fatal(err)
	}
	var a, b string
	err = conn.QueryRow(ctx, `
		with o as (insert into public.organisations (name) values ('Testforeningen') returning id),
		     m as (insert into public.peer_mentors (organisation_id, full_name)
		           select o.id, n from o, unnest(array['A', 'B']) n returning id, full_name),
		     x as (insert into public.notifications (user_id, organisation_id, scenario, evaluation_date, idempotency_key, priority)
		           select m.id, o.id, 'milestone', current_date, 'milestone:' || m.id || ':10', 20 from m, o returning 1)
		select (select id::text from m where full_name = 'A'), (select id::text from m where full_name = 'B')
		from (select count(*) from x) c`).Scan(&a, &b)
	if err != nil {
		t.Fatal(err)
	}

	inRolledBackTx(t, conn, func(tx pgx.Tx) {
		mustExec(t, tx, `set local role authenticated`)
		mustExec(t, tx, `select set_config('request.jwt.claims', $1, true)`, `{"sub":"`+a+`","role":"authenticated"}`)
		var ids []string
		rows, err := tx.Query(ctx, `select user_id::text from public.notifications`)
		if err != nil {
			t.Fatalf("authenticated reading notifications: %v", err)
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
		if len(ids) != 1 || ids[0] != a {
			t.Errorf("mentor A sees notifications of %v, want only their own (%s)", ids, a)
		}
		_, err = tx.Exec(ctx, `update public.notifications set status = 'sent'`)
		if sqlState(err) != "42501" {
			t.Errorf("authenticated updating notifications: %v, want SQLSTATE 42501", err)
		}
	})
	inRolledBackTx(t, conn, func(tx pgx.Tx) {
		mustExec(t, tx, `set local role anon`)
		for _, q := range []string{`select * from public.notifications`, `select * from scheduler.runs`, `select scheduler.invoke()`} {
			mustExec(t, tx, `savepoint s`)
			if _, err := tx.Exec(ctx, q); sqlState(err) != "42501" {
				t.Errorf("anon: %s: %v, want SQLSTATE 42501", q, err)
			}
			mustExec(t, tx, `rollback to savepoint s`)
		}
	})

	var without []string
	rows, err := conn.Query(ctx, `select c.relname::text from pg_class c
		where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity`)
	if err != nil {
		t.Fatal(err)
	}
	if without, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if len(without) > 0 {
		t.Errorf("tables in public without row-level security: %v", without)
	}
}

func mustExec(t *testing.T, tx pgx.Tx, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// queryStrings runs a query of one text column and returns its rows; any error ends the test.
func queryStrings(t *testing.T, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, sql string, args ...any) []string {
	t.Helper()
	rows, err := q.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return got
}
