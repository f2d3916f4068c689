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

// ServerPackage is the function binary the benchmark starts: the deployable plain HTTP entry point, wired
// as every entry point is (functions/wire), in its own process so that its cold start and peak RSS are its
// own.
const ServerPackage = "./functions/scenario-scheduler/http"

// serverSecret is the shared secret of the benchmark's function process.
const serverSecret = "bench-secret-bench-secret-bench-secret"

// buildServer compiles the function binary into dir (as a deployment would: stripped, no race detector).
func buildServer(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "scenario-scheduler-http")
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
	ready  time.Duration // process start to its "listening" line (templates read from the database, listener open)
	client *http.Client
}

// startServer starts the binary against dbURL on a loopback port it picks itself, with its clock on today,
// the log sender and the batch options of o, and waits until it logs that it listens. The flags it gets are
// the ones the binary accepts on loopback only (see its local.go); the environment is a deployment's.
func startServer(ctx context.Context, bin, dbURL string, today time.Time, o engine.Options) (*server, error) {
	secret := serverSecret
	args := append([]string{"-addr", "127.0.0.1:0", "-today", today.Format(engine.DateLayout), "-push-log"}, serverFlags(o)...)
	cmd := exec.Command(bin, args...)
	// LOG_LEVEL=info: the "listening" line says the address. PUSH_SENDER=none is what the environment must
	// name; -push-log replaces it with the log sender, so that delivery is part of every run.
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "SCHEDULER_SECRET="+secret, "PUSH_SENDER=none", "LOG_LEVEL=info")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	listening := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		for s.Scan() {
			var l struct {
				Message string `json:"message"`
				Addr    string `json:"addr"`
			}
			if json.Unmarshal(s.Bytes(), &l) == nil && l.Message == "listening" && l.Addr != "" {
				listening <- l.Addr
				break
			}
		}
		close(listening)
		_, _ = io.Copy(io.Discard, out) // the log lines of the runs, pushes included
	}()
	s := &server{cmd: cmd, secret: secret, client: &http.Client{Timeout: 2 * time.Minute}}
	select {
	case addr, ok := <-listening:
		if !ok {
			s.stop()
			return nil, fmt.Errorf("the function process exited before it listened (its errors are above)")
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
