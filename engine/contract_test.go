package engine_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/peermentor/scenario-scheduler/adapters/fcm"
	"github.com/peermentor/scenario-scheduler/adapters/fcm/fcmtest"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

// A run whose source contract does not hold fails, names the problem, is recorded as failed, and writes
// nothing: never a silent "completed" with nobody evaluated.
func TestSourceContractBrokenFailsTheRun(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		breakSQL string
		want     string
	}{
		{"missing view", `drop view scheduler_source.activities`,
			"scheduler_source.activities is missing"},
		{"wrong column type", `drop view scheduler_source.peer_mentors;
			create view scheduler_source.peer_mentors as
			  select m.id, m.organisation_id, m.full_name, m.status, m.locale, m.joined_on::timestamptz as joined_on
			  from public.peer_mentors m`,
			"scheduler_source.peer_mentors.joined_on is timestamp with time zone, want date"},
		{"missing column", `drop view scheduler_source.device_tokens;
			create view scheduler_source.device_tokens as
			  select t.user_id, t.token, t.platform from public.device_tokens t`,
			"scheduler_source.device_tokens has no column disabled (boolean)"},
		{"no active mentor", `update public.peer_mentors set status = 'paused'`,
			"scheduler_source.peer_mentors yields no active mentor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			m := b.mentor(t, "active", -100) // inactive for 100 days: would be notified
			b.certification(t, m, "Førstehjelp", 1)
			b.exec(t, tc.breakSQL)

			rep, err := b.engine.Run(context.Background(), engine.Request{EvaluationDate: day(0)})
			if engine.ErrorCode(err) != engine.SourceContract || !strings.Contains(engine.ErrorMessage(err), tc.want) {
				t.Fatalf("Run: %v; want a source_contract error naming %q", err, tc.want)
			}
			if rep.Status != engine.Failed || rep.ErrorCode != engine.SourceContract || !strings.Contains(rep.Problem, tc.want) {
				t.Errorf("report: status %s, error_code %s, problem %q; want failed, source_contract, the problem", rep.Status, rep.ErrorCode, rep.Problem)
			}
			var status, problem string
			if err := b.pool.QueryRow(context.Background(), `select status, report ->> 'problem' from scheduler.runs where id = $1`,
				rep.RunID).Scan(&status, &problem); err != nil {
				t.Fatal(err)
			}
			if status != "failed" || !strings.Contains(problem, tc.want) {
				t.Errorf("stored run: status %s, problem %q; want failed and the problem", status, problem)
			}
			if n := b.count(t, `select count(*) from public.notifications`) + b.count(t, `select count(*) from scheduler.checkpoints`); n != 0 {
				t.Errorf("%d notifications and checkpoints written; want none", n)
			}
		})
	}
}

// What `supabase db push` leaves on a project before the operator maps the contract: the placeholders, which
// hold the contract's types but yield nobody. A run there fails; it does not complete with 0.
func TestSourceContractPlaceholdersFailTheRun(t *testing.T) {
	t.Parallel()
	store, err := postgres.Open(context.Background(), postgres.Config{URL: pgtest.NewMigratedDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	var tables int
	if err := store.Pool().QueryRow(context.Background(), `select count(*) from pg_tables where schemaname = 'public'
		and tablename in ('organisations', 'peer_mentors', 'activities', 'certifications', 'device_tokens')`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("the migrations created %d of the reference app's tables; they must create none", tables)
	}
	_, err = engine.New(store, engine.Options{Location: oslo}).Run(context.Background(), engine.Request{DryRun: true})
	if engine.ErrorCode(err) != engine.SourceContract || !strings.Contains(engine.ErrorMessage(err), "no active mentor") {
		t.Errorf("dry run over the placeholders: %v; want source_contract: no active mentor", err)
	}
}

// The example of docs/source-contract.md: an app shaped nothing like the reference schema adopts the scheduler
// with one mapping migration, and a run writes the notifications the rules say, with delivery through the
// contract (a dead token is revoked through the view's trigger).
func TestSourceContractDifferentlyShapedApp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := readFile(t, "../supabase/reference/examples/members_app.sql")
	mapping := readFile(t, "../supabase/reference/examples/members_mapping.sql")
	if doc := readFile(t, "../docs/source-contract.md"); !strings.Contains(doc, mapping) {
		t.Errorf("docs/source-contract.md does not show supabase/reference/examples/members_mapping.sql as it is")
	}
	store, err := postgres.Open(ctx, postgres.Config{URL: pgtest.NewMigratedDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	pool := store.Pool()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(app)
	exec(mapping)

	// Times are UTC; the mapping takes local dates in Norway (UTC+1 in March).
	at := func(offset int, hhmm string) string { return day(offset) + "T" + hhmm + ":00Z" }
	club := queryString(t, pool, `insert into public.clubs (title) values ('Sjakklubben') returning club_uuid::text`)
	member := func(name string, active bool, started int) string {
		return queryString(t, pool, `insert into public.members (org, display_name, active, started) values ($1, $2, $3, $4::timestamptz)
			returning member_uuid::text`, club, name, active, at(started, "09:00"))
	}
	quiet := member("Stille Sverre", true, -100) // last event 20 days ago: inactive
	exec(`insert into public.events (member, happened_at) values ($1, $2::timestamptz)`, quiet, at(-20, "12:00"))
	late := member("Sen Siri", true, -100) // an event at 23:30 UTC 14 days ago is 13 days ago in Norway: not inactive
	exec(`insert into public.events (member, happened_at) values ($1, $2::timestamptz)`, late, at(-14, "23:30"))
	gone := member("Borte Bjørn", false, -100) // not active: never evaluated
	exec(`insert into public.events (member, happened_at) values ($1, $2::timestamptz)`, gone, at(-60, "12:00"))
	busy := member("Travle Tone", true, -100) // ten events: milestone 10; a course valid for 7 more days
	exec(`insert into public.events (member, happened_at) select $1, $2::timestamptz - make_interval(days => g) from generate_series(0, 9) g`,
		busy, at(-1, "12:00"))
	course := queryString(t, pool, `insert into public.courses_passed (member, course, valid_until) values ($1, 'Førstehjelp', $2::timestamptz)
		returning md5('courses_passed:' || id::text)::text`, busy, at(7, "12:00"))
	exec(`insert into public.push_subscriptions (member, fcm_token, os) values ($1, 'tok-quiet', 'android'), ($2, 'tok-dead', 'ios')`, quiet, busy)

	server := fcmtest.New(t)
	server.Script("tok-dead", fcmtest.Unregistered)
	sender, err := fcm.New(ctx, fcm.Config{CredentialsJSON: server.CredentialsJSON(), Endpoint: server.URL,
		Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(store, engine.Options{Location: oslo, Sender: sender,
		Now: func() time.Time { return day0.Add(7 * time.Hour).In(oslo) }})
	rep, err := e.Run(ctx, engine.Request{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Status != engine.Completed {
		t.Errorf("run status %s, want completed: %+v", rep.Status, rep)
	}
	for _, s := range rep.Scenarios {
		if s.Evaluated != 3 {
			t.Errorf("%s evaluated %d mentors, want the 3 active members", s.Scenario, s.Evaluated)
		}
	}
	courseID := fmt.Sprintf("%s-%s-%s-%s-%s", course[0:8], course[8:12], course[12:16], course[16:20], course[20:32])
	want := []notification{
		{busy, engine.CertificationExpiry, day(0), fmt.Sprintf("certification_expiry:%s:%s:%s:7", busy, courseID, day(7)),
			fmt.Sprintf(`{"rung": 7, "days_left": 7, "expires_at": "%s", "certification_id": "%s", "certification_name": "Førstehjelp"}`, day(7), courseID)},
		{quiet, engine.Inactivity, day(0), fmt.Sprintf("inactivity:%s:%s", quiet, day(0)),
			fmt.Sprintf(`{"days_inactive": 20, "inactivity_days": 14, "last_activity_date": "%s"}`, day(-20))},
		{busy, engine.Milestone, day(0), fmt.Sprintf("milestone:%s:10", busy),
			`{"level": 10, "activity_count": 10, "levels_reached": [10]}`},
	}
	if diff := cmp.Diff(want, listNotifications(t, pool)); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
	if d := rep.Delivery; d == nil || d.Sent != 1 || d.TokensDisabled != 1 {
		t.Errorf("delivery %+v; want 1 sent (to tok-quiet) and tok-dead disabled", rep.Delivery)
	}
	if revoked := queryString(t, pool, `select coalesce(string_agg(fcm_token, ','), '') from public.push_subscriptions where revoked_at is not null`); revoked != "tok-dead" {
		t.Errorf("revoked subscriptions %q, want tok-dead (revoked through the contract's view)", revoked)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func queryString(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// A device_tokens view that is not updatable does not break delivery: the outcome is recorded and the dead
// token stays enabled (the database logs a warning).
func TestDeadTokenWithAReadOnlyView(t *testing.T) {
	t.Parallel()
	b := setupPush(t)
	m := b.inactiveMentor(t, "Ola Hansen", "nb")
	b.device(t, m, "tok-gone")
	b.fcm.Script("tok-gone", fcmtest.Unregistered)
	// disabled as an expression: PostgreSQL cannot update it through the view.
	b.exec(t, `create or replace view scheduler_source.device_tokens as
		select t.user_id, t.token, t.platform, (t.disabled or false) as disabled from public.device_tokens t`)

	rep := b.runPush(t, b.push, engine.Request{})
	if rep.Status != engine.Completed || rep.Delivery.Failed != 1 {
		t.Errorf("run %s, delivery %+v; want completed with the push failed", rep.Status, rep.Delivery)
	}
	if diff := cmp.Diff(map[string]string{engine.Inactivity: "failed:unregistered"}, b.statuses(t, m)); diff != "" {
		t.Errorf("notification (-want +got):\n%s", diff)
	}
	if n := b.count(t, `select count(*) from public.device_tokens where disabled`); n != 0 {
		t.Errorf("%d tokens disabled through a read-only view, want 0", n)
	}
}

// stuckSource is a store whose source contract check does not answer before the run's deadline.
type stuckSource struct{ engine.Store }

func (stuckSource) CheckSource(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// A budget spent while checking the contract is not a failure: nothing was done, the next call checks again.
func TestSourceCheckCutByTheBudget(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mentor(t, "active", -100)
	e := b.engineWith(stuckSource{Store: b.store}, func(o *engine.Options) { o.Budget = 100 * time.Millisecond })
	rep, err := e.Run(context.Background(), engine.Request{})
	if err != nil || rep.Status != engine.Partial || len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "checking the source contract") {
		t.Fatalf("Run: status %s, warnings %q, err %v; want partial with a warning, no error", rep.Status, rep.Warnings, err)
	}
	if status := b.queryString(t, `select status from scheduler.runs where id = $1`, rep.RunID); status != "partial" {
		t.Errorf("stored run status %s, want partial", status)
	}
}
