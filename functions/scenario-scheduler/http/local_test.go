package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/engine"
)

// TestLocalFlagsNeedLoopback: the benchmark and test flags are refused, before anything starts, unless the
// server listens on a loopback address; a bad date is refused too.
func TestLocalFlagsNeedLoopback(t *testing.T) {
	t.Parallel()
	bin, err := binary.Path()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-addr", ":0", "-today", "2026-06-01"},
		{"-addr", "0.0.0.0:0", "-push-log"},
		{"-addr", "192.0.2.1:8080", "-parallelism", "2"},
		{"-addr", "localhost:0", "-max-batch", "500"},
		{"-addr", "127.0.0.1:0", "-today", "June 1st"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SCHEDULER_SECRET=" + secret,
			"DATABASE_URL=postgres://u:p@127.0.0.1:1/db", "PUSH_SENDER=none"}
		timer := time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() })
		out, err := cmd.CombinedOutput()
		timer.Stop()
		want := "loopback"
		if args[1] == "127.0.0.1:0" {
			want = "-today must be a date"
		}
		if err == nil || !strings.Contains(string(out), want) || strings.Contains(string(out), "listening") {
			t.Errorf("%v: exit %v, output %q; want a refusal saying %q before listening", args, err, out, want)
		}
	}
}

// TestTodayAndPushLog: on loopback, -today sets the engine's clock (a call without a date evaluates that
// day, although it lies outside the window a real clock allows) and -push-log delivers through the log
// sender although PUSH_SENDER says none.
func TestTodayAndPushLog(t *testing.T) {
	t.Parallel()
	db, _ := seeded(t, 20)
	day := time.Now().UTC().AddDate(0, 0, -(engine.MaxPastDays + 30)).Format(engine.DateLayout)
	s := startWith(t, []string{"-today", day, "-push-log"}, "DATABASE_URL="+db)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.url+"/", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(httpfn.SecretHeader, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var rep engine.Report
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d, %v", res.StatusCode, err)
	}
	if rep.EvaluationDate != day || rep.Delivery == nil || rep.Delivery.Status == engine.Off {
		t.Fatalf("evaluated %s, delivery %+v; want %s and the log sender (not off)", rep.EvaluationDate, rep.Delivery, day)
	}
	if !strings.Contains(s.Out.String(), "benchmark and test settings in force") {
		t.Errorf("no warning about the settings in the log:\n%s", s.Out)
	}
}
