package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/dev/proctest"
)

func TestOpenUnreachableDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	// A port held by a socket that never listens: connections are refused, and no other process can
	// take it meanwhile.
	addr := proctest.RefusingAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, postgres.Config{URL: "postgres://scheduler@" + addr + "/postgres?connect_timeout=2"})
	if got := engine.ErrorCode(err); got != engine.Unavailable {
		t.Fatalf("Open on a closed port: code %q (%v), want %q", got, err, engine.Unavailable)
	}
}

func TestOpenBadURLIsInvalid(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(context.Background(), postgres.Config{URL: "postgres://%zz"})
	if got := engine.ErrorCode(err); got != engine.Invalid {
		t.Fatalf("Open with a malformed URL: code %q (%v), want %q", got, err, engine.Invalid)
	}
	if msg := engine.ErrorMessage(err); msg == "" {
		t.Error("no caller-safe message")
	}
}

// Behind Supavisor's transaction pooler no prepared statements may be used; a whole run must work that way.
func TestRunWithoutPreparedStatements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := postgres.Open(ctx, postgres.Config{URL: pgtest.NewDatabase(t), NoPreparedStatements: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, err = store.Pool().Exec(ctx, `with o as (insert into public.organisations (name) values ('O') returning id)
		insert into public.peer_mentors (organisation_id, full_name, joined_on)
		select id, 'M', current_date - 30 from o, generate_series(1, 20)`)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := engine.New(store, engine.Options{}).Run(ctx, engine.Request{})
	if err != nil {
		t.Fatalf("run in exec mode: %v", err)
	}
	if rep.Status != engine.Completed || scenarioNotified(rep, engine.Inactivity) != 20 {
		t.Fatalf("run in exec mode: %+v", rep)
	}
	var stored string
	if err := store.Pool().QueryRow(ctx, `select report->>'status' from scheduler.runs where id = $1`, rep.RunID).Scan(&stored); err != nil || stored != "completed" {
		t.Fatalf("stored report status %q, %v", stored, err)
	}
}

func scenarioNotified(rep engine.Report, name string) int {
	for _, s := range rep.Scenarios {
		if s.Scenario == name {
			return s.Notified
		}
	}
	return -1
}

// A statement whose context ends must have stopped on the server when the call returns: a batch cut by
// the run's budget must not go on unseen, commit without the report counting it, and hold its checkpoint's
// row lock while the run releases the lease.
func TestCancelledStatementHasStoppedWhenTheCallReturns(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	store, err := postgres.Open(context.Background(), postgres.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	observer, err := postgres.Open(context.Background(), postgres.Config{URL: dbURL, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close()
	if err := observer.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := store.Pool().Exec(ctx, `select pg_sleep(30) /* cancel-probe */`); err == nil {
		t.Fatal("a 30 s statement finished within a 200 ms context")
	}
	var running int
	err = observer.Pool().QueryRow(context.Background(), `select count(*) from pg_stat_activity
		where query like '%cancel-probe%' and state = 'active' and pid <> pg_backend_pid()`).Scan(&running)
	if err != nil {
		t.Fatal(err)
	}
	if running != 0 {
		t.Fatal("the statement still runs on the server after the call returned")
	}
}
