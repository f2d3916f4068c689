package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/infra/dev/proctest"
)

const secret = "http-test-secret-0123456789abcdefg"

var binary = proctest.Build(".")

func TestMain(m *testing.M) {
	code := m.Run()
	binary.Remove()
	os.Exit(code)
}

// server is the built server, running on loopback.
type server struct {
	*proctest.Process
	url string
}

// startServer starts the built server on a port it picks itself (-addr 127.0.0.1:0) and waits until
// /healthz answers at the address its "listening" line reports.
func startServer(t *testing.T, grace time.Duration, env ...string) *server {
	t.Helper()
	return startWith(t, []string{"-grace", grace.String()}, env...)
}

// startWith is startServer with the given flags.
func startWith(t *testing.T, flags []string, env ...string) *server {
	t.Helper()
	bin, err := binary.Path()
	if err != nil {
		t.Fatal(err)
	}
	p := proctest.Start(t, proctest.Options{
		Command: func(addr string) *exec.Cmd {
			cmd := exec.Command(bin, append([]string{"-addr", addr}, flags...)...)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "SCHEDULER_SECRET=" + secret, "PUSH_SENDER=none"}, env...)
			return cmd
		},
		ReportedAddr: proctest.LoggedAddr("listening"),
		Ready:        proctest.HTTPReady(httpfn.HealthPath),
	})
	return &server{Process: p, url: p.URL()}
}

// seeded is a database with n active mentors due an inactivity notification.
func seeded(t *testing.T, n int) (string, *pgx.Conn) {
	t.Helper()
	db := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	_, err = conn.Exec(context.Background(), `with o as (insert into public.organisations (name) values ('Testforeningen') returning id)
		insert into public.peer_mentors (organisation_id, full_name, joined_on)
		select o.id, 'Mentor ' || g, current_date - 30 from o, generate_series(1, $1::int) g`, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), `analyze`); err != nil {
		t.Fatal(err)
	}
	return db, conn
}

type runResult struct {
	status int
	report struct {
		Status    string `json:"status"`
		Scenarios []struct {
			Status    string `json:"status"`
			Evaluated int    `json:"evaluated"`
			Remaining int64  `json:"remaining"`
			Message   string `json:"message"`
		} `json:"scenarios"`
	}
	err error
}

// postInBackground starts a run and returns where its answer arrives.
func (s *server) postInBackground(body string) <-chan runResult {
	ch := make(chan runResult, 1)
	go func() {
		var r runResult
		req, _ := http.NewRequest(http.MethodPost, s.url+"/", strings.NewReader(body))
		req.Header.Set(httpfn.SecretHeader, secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			r.err = err
		} else {
			r.status = res.StatusCode
			r.err = json.NewDecoder(res.Body).Decode(&r.report)
			res.Body.Close()
		}
		ch <- r
	}()
	return ch
}

// waitForBatch waits until the run has committed at least one batch.
func waitForBatch(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	for i := 0; ; i++ {
		var n int
		if err := conn.QueryRow(context.Background(), `select count(*) from scheduler.checkpoints where batches > 0`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if i == 2000 {
			t.Fatal("no batch was committed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShutdownCheckpoints: SIGTERM during a long run; when the grace period ends, the run stops at its
// batch boundary, the client still gets its report (partial), the checkpoint holds the progress, and the
// server exits cleanly.
func TestShutdownCheckpoints(t *testing.T) {
	t.Parallel()
	db, conn := seeded(t, 100_000)
	s := startServer(t, 500*time.Millisecond, "DATABASE_URL="+db, "SCHEDULER_DEADLINE=30s")
	answer := s.postInBackground(`{"scenarios":["inactivity"]}`)
	waitForBatch(t, conn)
	if err := s.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-answer
	// The remaining mentors are counted after the cut, within the final writes' bound; on a loaded machine the
	// count over ~90,000 mentors can outlast it, and the report then says that it did not count them.
	if r.err != nil || r.status != 200 || r.report.Status != "partial" || len(r.report.Scenarios) != 1 {
		t.Fatalf("answer: %+v", r)
	}
	if sc := r.report.Scenarios[0]; sc.Remaining == 0 && !strings.Contains(sc.Message, "remaining mentors were not counted") {
		t.Fatalf("a partial answer with 0 remaining that does not say the count failed: %+v", r)
	}
	if err := s.Wait(); err != nil {
		t.Fatalf("server exit: %v", err)
	}
	// The checkpoint and the notifications agree. The checkpoint may count one batch more than the report:
	// a batch whose statement had committed when the cancellation reached it is reported as cut.
	var evaluated, notified int
	var done bool
	if err := conn.QueryRow(context.Background(), `select evaluated, done, (select count(*) from public.notifications)
		from scheduler.checkpoints where scenario = 'inactivity'`).Scan(&evaluated, &done, &notified); err != nil {
		t.Fatal(err)
	}
	if done || evaluated < r.report.Scenarios[0].Evaluated || notified != evaluated {
		t.Fatalf("checkpoint: evaluated %d done %t, %d notifications; the report says %d evaluated",
			evaluated, done, notified, r.report.Scenarios[0].Evaluated)
	}
}

// TestShutdownFinishes: SIGTERM during a run that fits in the grace period; the run completes first.
func TestShutdownFinishes(t *testing.T) {
	t.Parallel()
	db, conn := seeded(t, 20_000)
	s := startServer(t, 2*time.Minute, "DATABASE_URL="+db)
	answer := s.postInBackground(`{"scenarios":["inactivity"]}`)
	waitForBatch(t, conn)
	if err := s.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-answer
	if r.err != nil || r.status != 200 || r.report.Status != "completed" {
		t.Fatalf("answer: %+v", r)
	}
	if err := s.Wait(); err != nil {
		t.Fatalf("server exit: %v", err)
	}
}

// TestRefusesWithoutPushSender: the server does not start unless PUSH_SENDER chooses fcm or none; the log
// sender, which marks pushes sent without sending them, is refused like a missing choice.
func TestRefusesWithoutPushSender(t *testing.T) {
	t.Parallel()
	bin, err := binary.Path()
	if err != nil {
		t.Fatal(err)
	}
	for _, sender := range []string{"", "log"} {
		cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SCHEDULER_SECRET=" + secret,
			"DATABASE_URL=postgres://u:p@127.0.0.1:1/db", "PUSH_SENDER=" + sender}
		timer := time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() })
		out, err := cmd.CombinedOutput()
		timer.Stop()
		if err == nil || !strings.Contains(string(out), "PUSH_SENDER") {
			t.Errorf("PUSH_SENDER=%q: exit %v, output %q; want a refusal naming PUSH_SENDER", sender, err, out)
		}
	}
}

// TestBrokenTemplatesStopTheServer: a push template naming an unknown field stops the server at start with
// an error naming it, although the check no longer holds back the listener (functions/wire).
func TestBrokenTemplatesStopTheServer(t *testing.T) {
	t.Parallel()
	db, conn := seeded(t, 1)
	if _, err := conn.Exec(context.Background(), `insert into scheduler.scenario_config (scenario, organisation_id, params)
		select 'inactivity', id, '{"templates": {"en": {"title": "Hi {{.Nickname}}", "body": "Come back"}}}' from public.organisations`); err != nil {
		t.Fatal(err)
	}
	bin, err := binary.Path()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-push-log")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SCHEDULER_SECRET=" + secret, "DATABASE_URL=" + db, "PUSH_SENDER=none"}
	timer := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
	out, err := cmd.CombinedOutput()
	timer.Stop()
	if err == nil || !strings.Contains(string(out), "push templates") || !strings.Contains(string(out), "Nickname") {
		t.Errorf("exit %v, output %q; want the process to stop with an error naming the push templates and the field", err, out)
	}
}
