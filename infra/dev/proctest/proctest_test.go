package proctest_test

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/infra/dev/proctest"
)

// TestStartDetectsStranger: when the readiness check is answered by a listener the child does not own
// (here: the test's own), Start does not take it for the child; it starts the child again on a fresh
// port, and the process it returns listens on its own.
func TestStartDetectsStranger(t *testing.T) {
	stranger, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	var tried []string
	p := proctest.Start(t, proctest.Options{
		Command: func(addr string) *exec.Cmd {
			tried = append(tried, addr)
			listen := addr
			if len(tried) == 1 {
				listen = "nowhere" // the first child never listens: only the stranger answers
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperListener$")
			cmd.Env = append(os.Environ(), "PROCTEST_LISTEN="+listen)
			return cmd
		},
		Ready: func(addr string) error {
			if len(tried) == 1 {
				addr = stranger.Addr().String()
			}
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err
		},
	})
	if len(tried) != 2 || p.Addr == stranger.Addr().String() {
		t.Fatalf("Start accepted the stranger: tried %v, got %s", tried, p.Addr)
	}
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatalf("the started child does not listen: %v", err)
	}
	c.Close()
}

// TestStartReportedAddr: a child that binds port 0 and prints its address is found at that address.
func TestStartReportedAddr(t *testing.T) {
	p := proctest.Start(t, proctest.Options{
		Command: func(addr string) *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperListener$")
			cmd.Env = append(os.Environ(), "PROCTEST_LISTEN="+addr)
			return cmd
		},
		ReportedAddr: func(out string) (string, bool) {
			_, rest, ok := strings.Cut(out, "listening on ")
			addr, _, nl := strings.Cut(rest, "\n")
			return addr, ok && nl
		},
	})
	if strings.HasSuffix(p.Addr, ":0") {
		t.Fatalf("address %s", p.Addr)
	}
	if _, err := net.Dial("tcp", p.Addr); err != nil {
		t.Fatal(err)
	}
}

// TestRefusingAddr: nothing can listen on the address, and a dial is refused.
func TestRefusingAddr(t *testing.T) {
	addr := proctest.RefusingAddr(t)
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		t.Fatalf("another listener could bind %s", addr)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("a dial to %s connected", addr)
	}
}

// TestHelperListener is the child process of the tests above.
func TestHelperListener(t *testing.T) {
	addr := os.Getenv("PROCTEST_LISTEN")
	if addr == "" {
		t.Skip("only a child process of this package's tests")
	}
	if addr == "nowhere" {
		time.Sleep(time.Minute)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		println(err.Error())
		os.Exit(1)
	}
	println("listening on " + l.Addr().String())
	time.Sleep(time.Minute)
}
