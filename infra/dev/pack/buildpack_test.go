package pack_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/infra/dev/pack"
	"github.com/peermentor/scenario-scheduler/infra/dev/proctest"
)

const secret = "gcf-test-secret-0123456789abcdefgh"

// generatedMain is what the Cloud Functions Go buildpack compiles around the uploaded source: a main
// package that imports the root package for its init (which registers the function) and starts the
// Functions Framework on $PORT. The one change: it listens on loopback only.
const generatedMain = `package main

import (
	"log"
	"os"

	_ "github.com/peermentor/scenario-scheduler"
	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

func main() {
	port := "8080"
	if p := os.Getenv("PORT"); p != "" {
		port = p
	}
	if err := funcframework.StartHostPort("127.0.0.1", port); err != nil {
		log.Fatalf("funcframework.Start: %v", err)
	}
}
`

// buildFunction stages the source bundle (as `task build:gcf` does), generates the buildpack's main in
// its own module that requires the bundle through a replace directive, and builds it.
var buildFunction = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gcf-buildpack-test-")
	if err != nil {
		return "", err
	}
	files, err := pack.GCFSource("../../..")
	if err != nil {
		return "", err
	}
	src, app := filepath.Join(dir, "source"), filepath.Join(dir, "app")
	if err := pack.CopyTree(src, files); err != nil {
		return "", err
	}
	gomod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		return "", err
	}
	goLine := "go 1.26"
	for _, l := range strings.Split(string(gomod), "\n") {
		if strings.HasPrefix(l, "go ") {
			goLine = l
		}
	}
	appMod := fmt.Sprintf("module functions.local/app\n\n%s\n\nrequire github.com/peermentor/scenario-scheduler v0.0.0\n\nreplace github.com/peermentor/scenario-scheduler => %s\n", goLine, src)
	sum, err := os.ReadFile(filepath.Join(src, "go.sum"))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(app, 0o755); err != nil {
		return "", err
	}
	for name, data := range map[string][]byte{"go.mod": []byte(appMod), "go.sum": sum, "main.go": []byte(generatedMain)} {
		if err := os.WriteFile(filepath.Join(app, name), data, 0o644); err != nil {
			return "", err
		}
	}
	cmd := exec.Command("go", "build", "-mod=mod", "-o", filepath.Join(dir, "function"), ".")
	cmd.Dir = app
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return dir, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := buildFunction(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// function is the built function, running.
type function struct {
	*proctest.Process
	url string
}

// command is the built function with the environment env, serving on port.
func command(dir, port string, env []string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(dir, "function"))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "PORT=" + port, "FUNCTION_TARGET=ScenarioScheduler"}, env...)
	return cmd
}

// startFunction starts the built function and waits until /healthz answers. The Functions Framework
// cannot report the port it got, so proctest.Start picks one and starts again on a fresh one when
// another process took it.
func startFunction(t *testing.T, env ...string) *function {
	t.Helper()
	dir, err := buildFunction()
	if err != nil {
		t.Fatal(err)
	}
	p := proctest.Start(t, proctest.Options{
		Command: func(addr string) *exec.Cmd {
			_, port, _ := net.SplitHostPort(addr)
			return command(dir, port, env)
		},
		Ready: proctest.HTTPReady(httpfn.HealthPath),
	})
	return &function{Process: p, url: p.URL()}
}

func (f *function) post(t *testing.T, headers map[string]string, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.url+"/", strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not JSON: %s", raw)
	}
	return res.StatusCode, m
}

// TestBuiltLikeTheBuildpack serves the function built from the source bundle through the Functions
// Framework, with the platform's timeout, and checks the contract and the Cloud Logging lines.
func TestBuiltLikeTheBuildpack(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(context.Background(), `with o as (insert into public.organisations (name) values ('Testforeningen') returning id)
		insert into public.peer_mentors (organisation_id, full_name, joined_on) select id, 'Test Mentor', current_date - 30 from o`)
	conn.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := startFunction(t, "DATABASE_URL="+db, "SCHEDULER_SECRET="+secret, "GOOGLE_CLOUD_PROJECT=test-project",
		"CLOUD_RUN_TIMEOUT_SECONDS=12", "LOG_LEVEL=info", "PUSH_SENDER=none")

	const trace = "105445aa7843bc8bf206b12000100000"
	status, rep := f.post(t, map[string]string{httpfn.SecretHeader: secret, "X-Cloud-Trace-Context": trace + "/1;o=1"}, "")
	budget, _ := rep["budget_ms"].(float64)
	if status != 200 || rep["status"] != "completed" || rep["trigger"] != "http" || budget > 10_000 || budget < 8_000 {
		t.Fatalf("good secret: %d %v (want the budget cut to the 12 s platform timeout less the margin)", status, rep)
	}
	sig := httpfn.Sign(secret, time.Now(), http.MethodPost, "/", httpfn.Body{DryRun: true, Trigger: "cron", Job: "scenario-scheduler-daily"})
	status, rep = f.post(t, map[string]string{httpfn.TimestampHeader: sig.Timestamp, httpfn.NonceHeader: sig.Nonce,
		httpfn.SignatureHeader: sig.Value, "Content-Type": "application/json"},
		`{"dry_run":true,"trigger":"cron","job":"scenario-scheduler-daily"}`)
	if status != 200 || rep["trigger"] != "cron:scenario-scheduler-daily" {
		t.Fatalf("signed: %d %v", status, rep)
	}
	for name, h := range map[string]map[string]string{"bad secret": {httpfn.SecretHeader: strings.Repeat("x", len(secret))}, "no secret": nil} {
		if status, body := f.post(t, h, "{}"); status != 401 {
			t.Errorf("%s: %d %v", name, status, body)
		}
	}
	res, err := http.Get(f.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health httpfn.Health
	if err := json.NewDecoder(res.Body).Decode(&health); err != nil || health.Config["DATABASE_URL"] != "set" {
		t.Errorf("healthz: %v %+v", err, health)
	}
	res.Body.Close()

	// Cloud Logging's structured lines, with the request's trace: the handler's and the engine's.
	found, engineTraced := false, false
	sc := bufio.NewScanner(strings.NewReader(f.Out.String()))
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		if l["message"] == "run started" && l["logging.googleapis.com/trace"] == "projects/test-project/traces/"+trace {
			engineTraced = true
		}
		if l["message"] != "run answered" || l["trigger"] != "http" {
			continue
		}
		found = true
		if l["severity"] != "INFO" || l["timestamp"] == nil || l["logging.googleapis.com/trace"] != "projects/test-project/traces/"+trace {
			t.Errorf("log line: %s", sc.Text())
		}
	}
	if !found {
		t.Errorf("no log line for the answered run")
	}
	if !engineTraced {
		t.Errorf("the engine's \"run started\" line does not carry the request's trace:\n%s", f.Out)
	}
}

// TestBadConfiguration: the cold start fails with one line naming every bad variable, and no value.
func TestBadConfiguration(t *testing.T) {
	t.Parallel()
	dir, err := buildFunction()
	if err != nil {
		t.Fatal(err)
	}
	// It exits before it listens: no port is needed.
	var output proctest.Buffer
	cmd := command(dir, "0", []string{"SCHEDULER_SECRET=short-secret-value", "SCHEDULER_DEADLINE=forever", "SCHEDULER_TIMEZONE=Mars/Olympus"})
	cmd.Stdout, cmd.Stderr = &output, &output
	err = cmd.Run()
	out := output.String()
	if err == nil {
		t.Fatalf("the function started with a bad configuration:\n%s", out)
	}
	for _, name := range []string{"DATABASE_URL", "SCHEDULER_SECRET", "SCHEDULER_DEADLINE", "SCHEDULER_TIMEZONE", "PUSH_SENDER"} {
		if !strings.Contains(out, name) {
			t.Errorf("the error does not name %s:\n%s", name, out)
		}
	}
	for _, value := range []string{"short-secret-value", "forever", "Mars/Olympus"} {
		if strings.Contains(out, value) {
			t.Errorf("the error shows the value %q:\n%s", value, out)
		}
	}
	var l map[string]any
	if json.Unmarshal([]byte(strings.TrimSpace(out)), &l) != nil || l["severity"] != "ERROR" {
		t.Errorf("want one Cloud Logging JSON line of severity ERROR, got:\n%s", out)
	}
}
