package main_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/infra/dev/proctest"
)

const secret = "rie-test-secret-0123456789abcdefgh"

// binaries runs `task build:lambda` (the deployable zips) and unpacks this machine's architecture's zip,
// so the emulator runs exactly the artifact that is deployed; and it builds the Runtime Interface Emulator.
// Both once per test binary.
var binaries = sync.OnceValues(func() (dir string, err error) {
	dir, err = os.MkdirTemp("", "lambda-rie-test-")
	if err != nil {
		return "", err
	}
	build := exec.Command("go", "tool", "task", "build:lambda")
	build.Dir = "../../.."
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("task build:lambda: %v\n%s", err, out)
	}
	if err := unzipBootstrap(filepath.Join("../../../dist/lambda", "bootstrap-"+runtime.GOARCH+".zip"), dir); err != nil {
		return "", err
	}
	rie := exec.Command("go", "build", "-o", filepath.Join(dir, "aws-lambda-rie"),
		"github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie")
	rie.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := rie.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build aws-lambda-rie: %v\n%s", err, out)
	}
	return dir, nil
})

// unzipBootstrap checks that the zip holds exactly one executable file named bootstrap, as provided.al2023
// requires, and writes it into dir.
func unzipBootstrap(zipPath, dir string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return err
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode()&0o111 == 0 {
		return fmt.Errorf("%s must hold one executable file named bootstrap", zipPath)
	}
	f := zr.File[0]
	r, err := f.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	out, err := os.OpenFile(filepath.Join(dir, "bootstrap"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, f.Mode())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := binaries(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// emulator is the bootstrap running under aws-lambda-rie on loopback.
type emulator struct {
	*proctest.Process
	url string
}

// invokePath is the emulator's invoke API.
const invokePath = "/2015-03-31/functions/function/invocations"

// startEmulator runs the bootstrap under the emulator with a Lambda timeout in seconds. The emulator
// cannot report the ports it got, so proctest.Start picks them and starts again on fresh ones when the
// emulator exits because another process took one, or when the readiness check (a Function URL GET of
// /healthz, which only this bootstrap answers) reaches someone else.
func startEmulator(t *testing.T, databaseURL string, timeoutSeconds int) *emulator {
	t.Helper()
	dir, err := binaries()
	if err != nil {
		t.Fatal(err)
	}
	p := proctest.Start(t, proctest.Options{
		Command: func(addr string) *exec.Cmd {
			apiAddr, err := proctest.FreeAddr()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(filepath.Join(dir, "aws-lambda-rie"), "--log-level", "warn",
				"--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, filepath.Join(dir, "bootstrap"))
			cmd.Env = []string{
				"PATH=" + os.Getenv("PATH"),
				"DATABASE_URL=" + databaseURL,
				"SCHEDULER_SECRET=" + secret,
				"SCHEDULER_DEADLINE=30s",
				"LOG_LEVEL=info",
				"PUSH_SENDER=none",
				fmt.Sprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%d", timeoutSeconds),
			}
			return cmd
		},
		Ready:   healthy,
		Timeout: time.Minute,
	})
	return &emulator{Process: p, url: p.URL() + invokePath}
}

// healthy is the emulator's readiness check: the function answers a Function URL GET of /healthz.
func healthy(addr string) error {
	b, _ := json.Marshal(urlEvent(http.MethodGet, httpfn.HealthPath, nil, ""))
	c := &http.Client{Timeout: 20 * time.Second}
	res, err := c.Post("http://"+addr+invokePath, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var r events.LambdaFunctionURLResponse
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil || res.StatusCode != 200 || r.StatusCode != 200 {
		return fmt.Errorf("health check: %d %d %v", res.StatusCode, r.StatusCode, err)
	}
	return nil
}

// invoke posts an event to the emulator's invoke API and returns the function's payload.
func (e *emulator) invoke(t *testing.T, event any) []byte {
	t.Helper()
	b, ok := event.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(event); err != nil {
			t.Fatal(err)
		}
	}
	res, err := http.Post(e.url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("invoke: %d %v\n%s", res.StatusCode, err, out)
	}
	return out
}

// urlEvent is a Function URL request as Lambda delivers it: lowercase headers, base64 body.
func urlEvent(method, path string, headers map[string]string, body string) events.LambdaFunctionURLRequest {
	h := map[string]string{"content-type": "application/json", "host": "abc.lambda-url.eu-north-1.on.aws"}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	return events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: path, Headers: h,
		Body: base64.StdEncoding.EncodeToString([]byte(body)), IsBase64Encoded: true,
		RequestContext: events.LambdaFunctionURLRequestContext{
			RequestID: "url-request", DomainName: "abc.lambda-url.eu-north-1.on.aws", TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "192.0.2.1"},
		},
	}
}

// seed adds an organisation and n active mentors who joined 30 days ago and never registered an
// activity (each one is due an inactivity notification).
func seed(t *testing.T, databaseURL string, n int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `with o as (insert into public.organisations (name) values ('Testforeningen') returning id)
		insert into public.peer_mentors (organisation_id, full_name, joined_on)
		select o.id, 'Mentor ' || g, current_date - 30 from o, generate_series(1, $1::int) g`, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `analyze`); err != nil {
		t.Fatal(err)
	}
}

type report struct {
	Status    string `json:"status"`
	Trigger   string `json:"trigger"`
	DryRun    bool   `json:"dry_run"`
	BudgetMS  int64  `json:"budget_ms"`
	Scenarios []struct {
		Scenario  string `json:"scenario"`
		Status    string `json:"status"`
		Evaluated int    `json:"evaluated"`
		Remaining int64  `json:"remaining"`
	} `json:"scenarios"`
	Error *httpfn.ErrorDetail `json:"error"`
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}
