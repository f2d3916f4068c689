package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/peermentor/scenario-scheduler/adapters/fcm/fcmtest"
	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/infra/dev/proctest"
)

// functionBinary is the plain HTTP function, built once.
var functionBinary = proctest.Build("github.com/peermentor/scenario-scheduler/functions/scenario-scheduler/http")

// process is the function running as its own process on loopback.
type process struct {
	*proctest.Process
	url string
}

// startFunction starts the built function over databaseURL, with the chaos secret, a local FCM server and
// env added to its environment, on a port it picks itself, and waits until it answers its health check.
func startFunction(t *testing.T, databaseURL string, env ...string) *process {
	t.Helper()
	bin, err := functionBinary.Path()
	if err != nil {
		t.Fatal(err)
	}
	// Pushes go to a local FCM server: the deployable function accepts no log sender.
	push := fcmtest.New(t)
	p := proctest.Start(t, proctest.Options{
		Command: func(addr string) *exec.Cmd {
			cmd := exec.Command(bin, "-addr", addr)
			// LOG_LEVEL=info at least: the "listening" line reports the address.
			cmd.Env = append([]string{"DATABASE_URL=" + databaseURL, "SCHEDULER_SECRET=" + secret, "LOG_LEVEL=info",
				"PUSH_SENDER=fcm", "FCM_ENDPOINT=" + push.URL, "FCM_SERVICE_ACCOUNT_JSON=" + string(push.CredentialsJSON())}, env...)
			return cmd
		},
		ReportedAddr: proctest.LoggedAddr("listening"),
		Ready:        proctest.HTTPReady(httpfn.HealthPath),
	})
	return &process{Process: p, url: p.URL()}
}

// post calls the function; a connection that dies with the process gives status 0.
func (p *process) post() answer {
	body := fmt.Sprintf(`{"evaluation_date": %q}`, today.Format(engine.DateLayout))
	req, _ := http.NewRequest(http.MethodPost, p.url, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(httpfn.SecretHeader, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{body: err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: string(raw)}
	if resp.StatusCode == http.StatusOK {
		_ = json.Unmarshal(raw, &a.report)
	}
	return a
}

func (p *process) kill() {
	p.Kill() // SIGKILL: no shutdown, no final writes
}

// evaluated reports whether an answer says every scenario is evaluated for the day.
func evaluated(a answer) bool {
	if a.status != http.StatusOK || len(a.report.Scenarios) == 0 {
		return false
	}
	for _, s := range a.report.Scenarios {
		if s.Status != engine.Completed && s.Status != engine.AlreadyCompleted {
			return false
		}
	}
	return true
}

// waitForLeases waits until no run holds a checkpoint: a killed process's lease runs out by itself
// (engine.Options.Lease, 10 s), and a call before that would find its scenario busy.
func waitForLeases(t *testing.T, tg *target) {
	t.Helper()
	for i := 0; ; i++ {
		var held bool
		if err := tg.pool.QueryRow(context.Background(), `select exists (select 1 from scheduler.checkpoints
			where lease_until > clock_timestamp())`).Scan(&held); err != nil {
			t.Fatal(err)
		}
		if !held {
			return
		}
		if i == 300 {
			t.Fatal("a checkpoint lease outlived 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestKilledAndRestarted kills the function process (SIGKILL) at random moments of its runs, restarts it
// and calls again each time; the end state must equal one clean run. CHAOS_SEED replays a sequence.
func TestKilledAndRestarted(t *testing.T) {
	n := mentors()
	want := cleanRun(t, n)
	url := pgtest.NewDatabase(t)
	tg := populated(t, url, n)

	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("CHAOS_SEED"), 10, 64); err == nil {
		seed = s
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("CHAOS_SEED=%d", seed)

	kills := 5
	if long() {
		kills = 20
	}
	killedMidRun := 0
	for i := range kills {
		waitForLeases(t, tg)
		p := startFunction(t, url)
		answered := make(chan answer, 1)
		go func() { answered <- p.post() }()
		// A moment within the first 0.8 s of the call: start-up, a batch, a commit, delivery.
		time.Sleep(time.Duration(rng.Int64N(int64(800 * time.Millisecond))))
		p.kill()
		a := <-answered
		switch {
		case a.status == 0:
			killedMidRun++
		case a.status != http.StatusOK:
			t.Fatalf("kill %d: the call before the kill answered %d %s", i+1, a.status, a.body)
		case a.report.Status == engine.AlreadyCompleted:
			t.Logf("the run was complete before kill %d: no work left to interrupt", i+1)
			kills = i + 1
		}
		if kills == i+1 {
			break
		}
	}
	p := startFunction(t, url)
	defer p.kill()
	// Done when every scenario is evaluated; the push outbox may still be draining (delivery is not what
	// the notifications are compared on).
	var last answer
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline) && !evaluated(last); time.Sleep(500 * time.Millisecond) {
		last = p.post()
	}
	if !evaluated(last) {
		t.Fatalf("no complete evaluation within 2 minutes after the kills; last: %d %s", last.status, last.body)
	}
	t.Logf("%d kills (%d with a call in flight) over %d mentors; the end state equals the clean run", kills, killedMidRun, n)
	if killedMidRun == 0 {
		t.Error("no kill hit a run in flight: the test did not test anything")
	}
	if diff := cmp.Diff(want, fingerprint(t, tg.pool)); diff != "" {
		t.Errorf("notifications differ from one clean run (-clean +killed):\n%s", diff)
	}
}
