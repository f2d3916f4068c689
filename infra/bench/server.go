package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/engine"
)

// ServerPackage is the function binary the benchmark starts: the HTTP adapter over the engine and the
// Postgres store, in its own process so that its cold start and peak RSS are its own.
const ServerPackage = "./infra/cmd/benchserver"

// buildServer compiles the function binary into dir (as a deployment would: stripped, no race detector).
func buildServer(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "benchserver")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ServerPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", ServerPackage, err, out)
	}
	return bin, nil
}

// server is one running function process.
type server struct {
	cmd    *exec.Cmd
	url    string
	secret string
	ready  time.Duration // process start to "ready" (database pinged, listener open)
	client *http.Client
}

// startServer starts the binary against dbURL and waits until it is ready.
func startServer(ctx context.Context, bin, dbURL string, today time.Time, extra ...string) (*server, error) {
	secret := "bench-secret-bench-secret-bench-secret"
	args := append([]string{"-today", today.Format(engine.DateLayout)}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "SCHEDULER_SECRET="+secret)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	s := &server{cmd: cmd, secret: secret, client: &http.Client{Timeout: 2 * time.Minute}}
	select {
	case l, ok := <-line:
		addr, found := strings.CutPrefix(l, "ready ")
		if !ok || !found {
			s.stop()
			return nil, fmt.Errorf("the function process did not become ready (%q)", l)
		}
		s.ready = time.Since(started)
		s.url = "http://" + addr + "/"
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("the function process did not become ready within 30 s")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
	return s, nil
}

// post sends one invocation, as the cron job does, and decodes the report.
func (s *server) post(ctx context.Context, body string) (engine.Report, time.Duration, error) {
	var rep engine.Report
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(body))
	if err != nil {
		return rep, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(httpfn.SecretHeader, s.secret)
	started := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return rep, 0, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(started)
	if err != nil {
		return rep, took, err
	}
	if resp.StatusCode != http.StatusOK {
		return rep, took, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
	}
	return rep, took, json.Unmarshal(raw, &rep)
}

// peakRSS reads the process's high-water mark of resident memory (VmHWM) in bytes.
func (s *server) peakRSS() (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", s.cmd.Process.Pid)
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}
