package supabase_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
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

// watchEnv is one watchdog scenario: a rolled-back transaction on the database pg_cron runs in (the real
// cron.job), with the pg_net and Vault stand-ins created inside it when the server lacks the real ones.
type watchEnv struct {
	t   *testing.T
	tx  pgx.Tx
	now time.Time // the watchdog's clock: after the daily job's firing plus the grace period
}

// runner answers every run with a completed report (the function's own evaluation is not under test here).
type runner struct{}

func (runner) Run(_ context.Context, req engine.Request) (engine.Report, error) {
	return engine.Report{RunID: "r", EvaluationDate: "2026-01-01", Status: engine.Completed, Trigger: req.Trigger,
		DryRun: req.DryRun, Scenarios: []engine.ScenarioReport{}}, nil
}

// withWatch runs f in a transaction that is always rolled back. The daily job is rescheduled to fire an hour
// before the watchdog's clock, with a 30-minute grace period, so the "expected time plus grace" has passed.
func withWatch(t *testing.T, f func(w *watchEnv)) {
	t.Helper()
	conn := cronDatabase(t)
	ctx := context.Background()
	// The stand-ins and Vault secrets live in the database pg_net serves, shared with other tests: one at a time.
	lock := connect(t, pgtest.ServerURL(t))
	if _, err := lock.Exec(ctx, servedLock); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = lock.Exec(context.Background(), `select pg_advisory_unlock_all()`) })
	now := time.Now().Add(10 * time.Minute)
	if now.In(oslo).Add(-time.Hour).YearDay() != now.In(oslo).YearDay() {
		now = now.Add(2 * time.Hour)
	}
	fire := now.Add(-time.Hour).UTC()
	inRolledBackTx(t, conn, func(tx pgx.Tx) {
		script, err := os.ReadFile(standInsFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			string(script),
			// Rows committed by other tests or by the watchdog job of this test cluster are not this test's,
			// nor are the runs of the cluster's own scheduler jobs (the daily job fires at 06:00 UTC, an operator's
			// and fails here without Vault entries: an invoke_failed that would hide what the test looks for).
			`delete from scheduler.alerts`, `delete from scheduler.invocations`, `delete from cron.job_run_details`,
			`delete from scheduler.checkpoints`, `delete from scheduler.runs`,
			`delete from vault.secrets where name like 'scenario_scheduler_%'`,
			`update scheduler.ops_settings set grace_minutes = 30, time_zone = 'Europe/Oslo'`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				t.Fatalf("%.60s: %v", q, err)
			}
		}
		mustExec(t, tx, `select scheduler.schedule_daily($1)`, fireSchedule(fire))
		f(&watchEnv{t: t, tx: tx, now: now})
	})
}

func fireSchedule(at time.Time) string {
	return at.Format("4 15") + " * * *"
}

// secrets stores the function URL and secret in Vault.
func (w *watchEnv) secrets(url, secret string) {
	mustExec(w.t, w.tx, `select vault.create_secret($1, 'scenario_scheduler_url')`, url)
	mustExec(w.t, w.tx, `select vault.create_secret($1, 'scenario_scheduler_secret')`, secret)
}

// function serves the real HTTP adapter with secret, its replay guard on the cron database's store.
func (w *watchEnv) function(secret string) string {
	store, err := postgres.Open(context.Background(), postgres.Config{URL: pgtest.ServerURL(w.t)})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(store.Close)
	srv := httptest.NewServer(httpfn.New(runner{}, httpfn.Config{Secret: secret, Replay: store}))
	w.t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// unmappedSource is the cron database's store whose source contract check runs in a database with the
// migrations only (the contract's placeholders): the cron database is shared with tests that map it.
type unmappedSource struct {
	*postgres.Store
	placeholders *postgres.Store
}

func (s unmappedSource) CheckSource(ctx context.Context) error {
	return s.placeholders.CheckSource(ctx)
}

// engineFunction serves the real HTTP adapter over the real engine on the cron database (committed outside
// the test's transaction), its clock at the watchdog's, its source contract not mapped.
func (w *watchEnv) engineFunction(secret string) string {
	open := func(url string) *postgres.Store {
		store, err := postgres.Open(context.Background(), postgres.Config{URL: url})
		if err != nil {
			w.t.Fatal(err)
		}
		w.t.Cleanup(store.Close)
		return store
	}
	store := open(pgtest.ServerURL(w.t))
	e := engine.New(unmappedSource{Store: store, placeholders: open(pgtest.NewMigratedDatabase(w.t))},
		engine.Options{Location: oslo, Now: func() time.Time { return w.now }})
	srv := httptest.NewServer(httpfn.New(e, httpfn.Config{Secret: secret, Replay: store}))
	w.t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// invoke queues the daily call as the cron job does and returns pg_net's request id.
func (w *watchEnv) invoke() int64 {
	var id int64
	if err := w.tx.QueryRow(context.Background(), `select scheduler.invoke()`).Scan(&id); err != nil {
		w.t.Fatal(err)
	}
	return id
}

// work plays pg_net's worker for request id: it sends it over HTTP and records the answer (a status and body,
// or the connection error) in net._http_response, as the worker does.
func (w *watchEnv) work(id int64) {
	ctx := context.Background()
	var (
		method, target string
		headers        map[string]string
		body           []byte
	)
	if err := w.tx.QueryRow(ctx, `delete from net.http_request_queue where id = $1 returning method, url, headers, body`, id).
		Scan(&method, &target, &headers, &body); err != nil {
		w.t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		mustExec(w.t, w.tx, `insert into net._http_response (id, error_msg, timed_out, created) values ($1, $2, false, clock_timestamp())`, id, err.Error())
		return
	}
	defer resp.Body.Close()
	content, _ := io.ReadAll(resp.Body)
	mustExec(w.t, w.tx, `insert into net._http_response (id, status_code, content, timed_out, created)
	                     values ($1, $2, $3, false, clock_timestamp())`, id, resp.StatusCode, string(content))
}

// completeToday records today's checkpoints: every enabled scenario done except those in partial.
func (w *watchEnv) checkpoints(partial ...string) {
	partial = append([]string{}, partial...)
	mustExec(w.t, w.tx, `insert into scheduler.checkpoints (evaluation_date, scenario, done, evaluated)
		select ($1::timestamptz at time zone 'Europe/Oslo')::date, e.scenario, not (e.scenario = any ($2)), 10
		from scheduler.enabled_scenarios() e`, w.now, partial)
}

// watch runs the watchdog at the env's clock and returns the problems it raised.
func (w *watchEnv) watch() []string {
	w.t.Helper()
	rows, err := w.tx.Query(context.Background(), `select problem || ': ' || detail from scheduler.watchdog($1)`, w.now)
	if err != nil {
		w.t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

// expectOne checks that the watchdog raised exactly one alert, of problem want, mentioning detail; and that a
// second look the same day raises nothing more.
func (w *watchEnv) expectOne(want, detail string) {
	w.t.Helper()
	got := w.watch()
	if len(got) != 1 || !strings.HasPrefix(got[0], want+": ") || !strings.Contains(got[0], detail) {
		w.t.Fatalf("alerts %q, want exactly one %s mentioning %q", got, want, detail)
	}
	w.t.Log(got[0])
	if again := w.watch(); len(again) != 0 {
		w.t.Errorf("the same problem was raised again the same day: %q", again)
	}
	var n int
	if err := w.tx.QueryRow(context.Background(), `select count(*) from scheduler.alerts where resolved_at is null`).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	if n != 1 {
		w.t.Errorf("%d open alert rows, want 1", n)
	}
}

// closedPort is a loopback URL nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/"
}

func TestWatchdog(t *testing.T) {
	secret := "the-secret-" + randomHex(t, 8)

	t.Run("healthy day raises nothing", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			w.work(w.invoke())
			w.checkpoints()
			if got := w.watch(); len(got) != 0 {
				t.Fatalf("alerts on a healthy day: %q", got)
			}
		})
	})
	t.Run("daily job removed", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			mustExec(t, w.tx, `select cron.unschedule('scenario-scheduler-daily')`)
			w.expectOne("not_scheduled", "certification_expiry, milestone, inactivity")
		})
	})
	t.Run("daily job paused", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			mustExec(t, w.tx, `update cron.job set active = false where jobname = 'scenario-scheduler-daily'`)
			w.expectOne("not_scheduled", "no active cron job runs")
		})
	})
	t.Run("job for some scenarios removed", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			// An operator splits inactivity off and then removes the job that runs the rest.
			mustExec(t, w.tx, `select scheduler.schedule_split(array['inactivity'])`)
			mustExec(t, w.tx, `select cron.unschedule('scenario-scheduler-rest')`)
			// Inactivity, still scheduled, ran today: after its time plus the grace period a missing run of it
			// would be a finding of its own (a not_scheduled for other scenarios no longer masks it).
			mustExec(t, w.tx, `insert into scheduler.checkpoints (evaluation_date, scenario, done)
				values (($1::timestamptz at time zone (select time_zone from scheduler.ops_settings))::date, 'inactivity', true)`, w.now)
			w.expectOne("not_scheduled", "certification_expiry, milestone")
		})
	})
	t.Run("Vault entry missing", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			mustExec(t, w.tx, `select vault.create_secret($1, 'scenario_scheduler_url')`, w.function(secret))
			w.expectOne("vault_entry_missing", "scenario_scheduler_secret")
		})
	})
	t.Run("pg_net worker down", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			w.invoke()
			w.expectOne("no_answer", "pg_net's worker did not answer")
		})
	})
	t.Run("401 after a bad rotation, then fixed", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			url := w.function(secret)
			w.secrets(url, "rotated-in-vault-only")
			w.work(w.invoke())
			w.expectOne("unauthorised", "the Vault secret does not match the function's secret")
			// The operator fixes Vault; the catch-up call succeeds and the alert is resolved, not raised again.
			mustExec(t, w.tx, `select vault.update_secret(id, $1) from vault.decrypted_secrets where name = 'scenario_scheduler_secret'`, secret)
			w.work(w.invoke())
			w.checkpoints()
			if got := w.watch(); len(got) != 0 {
				t.Errorf("alerts after the fix: %q", got)
			}
			var open int
			if err := w.tx.QueryRow(context.Background(), `select count(*) from scheduler.alerts where resolved_at is null`).Scan(&open); err != nil {
				t.Fatal(err)
			}
			if open != 0 {
				t.Errorf("%d alerts still open after a successful call", open)
			}
		})
	})
	t.Run("source contract not mapped", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			// The function's source is the migrations' placeholders: nobody to evaluate.
			w.secrets(w.engineFunction(secret), secret)
			id := w.invoke()
			w.work(id)
			var status int
			var content string
			if err := w.tx.QueryRow(context.Background(), `select status_code, content from net._http_response where id = $1`, id).
				Scan(&status, &content); err != nil {
				t.Fatal(err)
			}
			var body httpfn.ErrorBody
			if err := json.Unmarshal([]byte(content), &body); err != nil {
				t.Fatalf("the function's answer %q: %v", content, err)
			}
			if status != http.StatusInternalServerError || body.Error.Code != engine.SourceContract ||
				!strings.Contains(body.Error.Message, "yields no active mentor") {
				t.Errorf("the function answered %d %s; want 500 with code source_contract naming the problem", status, content)
			}
			// One root cause, one alert: not http_error nor run_missing besides it.
			w.expectOne("source_contract", "scheduler_source.peer_mentors yields no active mentor")
		})
	})
	t.Run("function unreachable", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(closedPort(t), secret)
			w.work(w.invoke())
			w.expectOne("unreachable", "the URL in Vault is unreachable from the database")
		})
	})
	t.Run("function timed out", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			id := w.invoke()
			mustExec(t, w.tx, `delete from net.http_request_queue where id = $1`, id)
			mustExec(t, w.tx, `insert into net._http_response (id, timed_out, error_msg, created) values ($1, true, 'Timeout of 45000 ms reached', clock_timestamp())`, id)
			w.expectOne("timeout", "did not answer within")
		})
	})
	t.Run("cron job run failed", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			// As pg_cron records a job whose command raised (here: pg_net's function not executable).
			mustExec(t, w.tx, `insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status,
				return_message, start_time, end_time)
				select jobid, -1, 1, current_database(), current_user, command, 'failed',
				       'ERROR:  permission denied for function http_post', clock_timestamp(), clock_timestamp()
				from cron.job where jobname = 'scenario-scheduler-daily'`)
			w.expectOne("invoke_failed", "permission denied for function http_post")
		})
	})
	// The migrations' continue job resumes a partial run within a minute; a run still partial after the
	// grace period means it stopped (partial_parts says why), or that it is not scheduled.
	t.Run("run left partial, the continue job stopped", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			w.work(w.invoke())
			w.checkpoints("inactivity")
			w.expectOne("run_partial", "left inactivity incomplete although the continue job (scheduler-continue) runs: select * from scheduler.partial_parts();")
		})
	})
	t.Run("run left partial, no continue job, no catch-up", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			mustExec(t, w.tx, `select cron.unschedule('scheduler-continue')`)
			w.secrets(w.function(secret), secret)
			w.work(w.invoke())
			w.checkpoints("inactivity")
			w.expectOne("run_partial", "left inactivity incomplete and neither the continue job (select * from scheduler.schedule_continue()) nor a catch-up job (select * from scheduler.schedule_catch_up()) is scheduled")
		})
	})
	t.Run("no run at all", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			w.expectOne("run_missing", "no run evaluated certification_expiry, milestone, inactivity")
		})
	})
	t.Run("alert posted to the alert URL", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(w.function(secret), secret)
			mustExec(t, w.tx, `select vault.create_secret('https://hooks.example.invalid/T000/B000', 'scenario_scheduler_alert_url')`)
			w.invoke()
			w.expectOne("no_answer", "request")
			var url, body string
			err := w.tx.QueryRow(context.Background(), `select q.url, convert_from(q.body, 'UTF8') from net.http_request_queue q
				join scheduler.alerts a on a.notify_request_id = q.id`).Scan(&url, &body)
			if err != nil {
				t.Fatalf("the alert's post: %v", err)
			}
			var msg map[string]string
			if err := json.Unmarshal([]byte(body), &msg); err != nil || len(msg) != 1 ||
				!strings.Contains(msg["text"], "no_answer") || url != "https://hooks.example.invalid/T000/B000" {
				t.Errorf("posted %s to %s, want {\"text\": ...no_answer...} to the alert URL", body, url)
			}
			if strings.Contains(body, secret) {
				t.Error("the alert contains the secret")
			}
		})
	})
	t.Run("findings name no secret", func(t *testing.T) {
		withWatch(t, func(w *watchEnv) {
			w.secrets(closedPort(t), secret)
			w.work(w.invoke())
			got := w.watch()
			if slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, secret) }) {
				t.Errorf("a finding contains the secret: %q", got)
			}
		})
	})
}
