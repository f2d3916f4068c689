package engine_test

import (
	"context"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

var oslo = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		panic(err)
	}
	return loc
}()

// day0 is "today" in these tests: a Monday morning in Norway.
var day0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// day returns day0 + offset days as YYYY-MM-DD.
func day(offset int) string { return day0.AddDate(0, 0, offset).Format(engine.DateLayout) }

// testBundle is one test's database, store and engine, with a clock the test moves.
type testBundle struct {
	pool   *pgxpool.Pool
	store  *postgres.Store
	engine *engine.Engine
	org    string
	opts   engine.Options
	today  atomic.Int64 // days after day0
}

func setup(t *testing.T, opts ...func(*engine.Options)) *testBundle {
	t.Helper()
	b := &testBundle{pool: pgtest.NewPool(t)}
	b.store = postgres.NewFromPool(b.pool)
	o := engine.Options{
		Location: oslo,
		Now: func() time.Time {
			return day0.AddDate(0, 0, int(b.today.Load())).Add(7 * time.Hour).In(oslo)
		},
	}
	for _, f := range opts {
		f(&o)
	}
	b.opts = o
	b.engine = engine.New(b.store, o)
	b.org = b.queryString(t, `insert into public.organisations (name) values ('Testforeningen') returning id::text`)
	return b
}

// engineWith returns another engine on the bundle's clock, over store, with changed options.
func (b *testBundle) engineWith(store engine.Store, f func(*engine.Options)) *engine.Engine {
	o := b.opts
	f(&o)
	return engine.New(store, o)
}

// setToday moves the clock to day(offset).
func (b *testBundle) setToday(offset int) { b.today.Store(int64(offset)) }

func (b *testBundle) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := b.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (b *testBundle) queryString(t *testing.T, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := b.pool.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func (b *testBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := b.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// mentor adds a mentor of the bundle's organisation who joined joinedOffset days after day0.
func (b *testBundle) mentor(t *testing.T, status string, joinedOffset int) string {
	t.Helper()
	return b.queryString(t, `insert into public.peer_mentors (organisation_id, full_name, status, joined_on)
		values ($1, 'Test Mentor', $2, $3::date) returning id::text`, b.org, status, day(joinedOffset))
}

// activities adds one activity on each offset.
func (b *testBundle) activities(t *testing.T, mentor string, offsets ...int) {
	t.Helper()
	for _, o := range offsets {
		b.exec(t, `insert into public.activities (user_id, activity_date) values ($1, $2::date)`, mentor, day(o))
	}
}

func (b *testBundle) certification(t *testing.T, mentor, name string, expiresOffset int) string {
	t.Helper()
	return b.queryString(t, `insert into public.certifications (user_id, name, expires_at) values ($1, $2, $3::date)
		returning id::text`, mentor, name, day(expiresOffset))
}

// run runs the engine and fails the test on an error.
func (b *testBundle) run(t *testing.T, req engine.Request) engine.Report {
	t.Helper()
	rep, err := b.engine.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("Run(%v): %v", req, err)
	}
	return rep
}

// notification is a created notification as the tests compare it.
type notification struct {
	Mentor, Scenario, Date, Key, Data string
}

func (b *testBundle) notifications(t *testing.T) []notification {
	t.Helper()
	return listNotifications(t, b.pool)
}

func listNotifications(t *testing.T, pool *pgxpool.Pool) []notification {
	t.Helper()
	rows, err := pool.Query(context.Background(), `select user_id::text, scenario, evaluation_date::text,
		idempotency_key, data::text from public.notifications order by idempotency_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ns []notification
	for rows.Next() {
		var n notification
		if err := rows.Scan(&n.Mentor, &n.Scenario, &n.Date, &n.Key, &n.Data); err != nil {
			t.Fatal(err)
		}
		ns = append(ns, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i].Key < ns[j].Key })
	return ns
}

// scenario returns one scenario's part of a report.
func scenario(t *testing.T, rep engine.Report, name string) engine.ScenarioReport {
	t.Helper()
	for _, s := range rep.Scenarios {
		if s.Scenario == name {
			return s
		}
	}
	t.Fatalf("report has no scenario %q: %+v", name, rep)
	return engine.ScenarioReport{}
}
