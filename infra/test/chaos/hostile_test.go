package chaos_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
)

// rawAnswer is what a raw TCP request got back: status 0 when the server closed without answering.
type rawAnswer struct {
	status int
	body   string
	took   time.Duration
}

// raw sends head (request line and headers, CRLF-separated, without the blank line) and then body, each
// chunk of body after pause, and reads the answer.
func raw(t *testing.T, addr, head string, body []string, pause time.Duration) rawAnswer {
	t.Helper()
	start := time.Now()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(conn, head+"\r\n\r\n"); err != nil {
		return rawAnswer{took: time.Since(start)}
	}
	for _, chunk := range body {
		time.Sleep(pause)
		if _, err := io.WriteString(conn, chunk); err != nil {
			break // the server gave up on us: read what it said
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return rawAnswer{took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawAnswer{status: resp.StatusCode, body: string(b), took: time.Since(start)}
}

func signature(key string, ts time.Time, body string) httpfn.Signature {
	b, err := httpfn.DecodeSigned("application/json", []byte(body))
	if err != nil {
		panic(err)
	}
	return httpfn.Sign(key, ts, http.MethodPost, "/", b)
}

// signatureLines are the header lines of a signed call.
func signatureLines(s httpfn.Signature) []string {
	return []string{httpfn.TimestampHeader + ": " + s.Timestamp, httpfn.NonceHeader + ": " + s.Nonce, httpfn.SignatureHeader + ": " + s.Value}
}

// TestHostileRequests sends what a hostile or broken client sends, at the built function over raw TCP:
// each gets its 4xx (JSON where the request reached the handler) and nothing is written.
func TestHostileRequests(t *testing.T) {
	url := pgtest.NewDatabase(t)
	tg := populated(t, url, 200)
	p := startFunction(t, url)
	defer p.kill()
	addr := strings.TrimPrefix(p.url, "http://")
	post := func(headers ...string) string {
		return strings.Join(append([]string{"POST / HTTP/1.1", "Host: " + addr, "Connection: close"}, headers...), "\r\n")
	}
	length := func(body string) string { return "Content-Length: " + strconv.Itoa(len(body)) }
	const body = `{"evaluation_date":"` + "2026-01-01" + `"}`
	old := signatureLines(signature(secret, time.Now().Add(-10*time.Minute), "{}"))
	future := signatureLines(signature(secret, time.Now().Add(10*time.Minute), "{}"))
	wrong := signatureLines(signature("a-different-secret-of-the-same-size-0123", time.Now(), "{}"))

	cases := []struct {
		name   string
		head   string
		body   []string
		pause  time.Duration
		status int
		code   string // the JSON error code, when the handler answered
	}{
		{"headers over 16 KiB", post("X-Scheduler-Secret: "+secret, "X-Padding: "+strings.Repeat("p", 20<<10), "Content-Length: 2"), []string{"{}"}, 0, 431, "headers_too_large"},
		{"headers over 1 MiB", post("X-Padding: "+strings.Repeat("p", 1<<20+10), "Content-Length: 2"), []string{"{}"}, 0, 431, ""},
		{"secret split by an injected line", post("X-Scheduler-Secret: "+secret[:8]+"\r\n "+secret[8:], length("{}")), []string{"{}"}, 0, 401, "unauthorised"},
		{"header with a NUL byte", post("X-Scheduler-Secret: "+secret+"\x00", length("{}")), []string{"{}"}, 0, 400, ""},
		{"CRLF injected through the job name", post("X-Scheduler-Secret: "+secret, length(`{"job":"daily\r\nX-Evil: 1"}`)), []string{`{"job":"daily\r\nX-Evil: 1"}`}, 0, 400, "invalid"},
		// A request smuggled behind an empty chunked body must not run, whichever length the server believes.
		{"request smuggled by Content-Length and Transfer-Encoding", post("Content-Length: 60", "Transfer-Encoding: chunked"), []string{"0\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\nX-Scheduler-Secret: " + secret + "\r\nContent-Length: 2\r\n\r\n{}"}, 0, 401, "unauthorised"},
		{"replayed signature, 10 minutes old", post(append(old, length("{}"))...), []string{"{}"}, 0, 401, "unauthorised"},
		{"future-dated signature", post(append(future, length("{}"))...), []string{"{}"}, 0, 401, "unauthorised"},
		{"valid signature made with a wrong secret", post(append(wrong, length("{}"))...), []string{"{}"}, 0, 401, "unauthorised"},
		{"slow-loris body", post("X-Scheduler-Secret: "+secret, length(body)), strings.Split(body, ""), 700 * time.Millisecond, 408, "request_timeout"},
	}
	for _, tc := range cases {
		a := raw(t, addr, tc.head, tc.body, tc.pause)
		if a.status != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, a.status, tc.status, a.body)
			continue
		}
		if tc.code != "" && !strings.Contains(a.body, fmt.Sprintf(`"code": %q`, tc.code)) {
			t.Errorf("%s: body %s, want JSON error code %q", tc.name, a.body, tc.code)
		}
		if strings.Contains(a.body, secret) {
			t.Errorf("%s: the answer contains the secret", tc.name)
		}
		if tc.name == "slow-loris body" && a.took > httpfn.BodyTimeout+5*time.Second {
			t.Errorf("slow-loris body held the connection for %v", a.took)
		}
	}

	// Slow-loris headers: the server drops the connection after its header timeout, without an answer.
	start := time.Now()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\n")
	for i := 0; i < 40; i++ {
		time.Sleep(500 * time.Millisecond)
		if _, err := fmt.Fprintf(conn, "X-Slow-%d: 1\r\n", i); err != nil {
			break
		}
	}
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if strings.Contains(line, " 200 ") || time.Since(start) > 25*time.Second {
		t.Errorf("slow-loris headers: %q after %v; want the connection dropped within the header timeout", line, time.Since(start))
	}

	var runs, notifications int
	if err := tg.pool.QueryRow(context.Background(), `select (select count(*) from scheduler.runs),
		(select count(*) from public.notifications)`).Scan(&runs, &notifications); err != nil {
		t.Fatal(err)
	}
	if runs != 0 || notifications != 0 {
		t.Errorf("hostile requests wrote %d runs and %d notifications", runs, notifications)
	}
}
