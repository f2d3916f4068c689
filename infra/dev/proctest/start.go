package proctest

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Options says how to start a program and how to know it is ready.
type Options struct {
	// Command returns the command to run, listening on addr. With ReportedAddr set, addr is
	// "127.0.0.1:0"; otherwise a port that was free a moment ago. Start sets its Stdout and Stderr.
	Command func(addr string) *exec.Cmd
	// ReportedAddr, when set, finds the address the child bound in its output so far (ok false: not yet).
	ReportedAddr func(output string) (addr string, ok bool)
	// Ready reports whether the program at addr is ready (nil: it accepts a TCP connection).
	Ready func(addr string) error
	// Timeout bounds the wait for readiness of one start (default 30 s).
	Timeout time.Duration
}

// Process is a started program.
type Process struct {
	Cmd  *exec.Cmd
	Out  *Buffer // its stdout and stderr
	Addr string  // host:port it listens on
	done chan struct{}
	err  error
}

// URL is "http://" + Addr.
func (p *Process) URL() string { return "http://" + p.Addr }

// Wait waits for the process to exit and returns its exit error, as exec.Cmd.Wait does; it may be called
// more than once.
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill kills the process (SIGKILL) and waits for it.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// attempts bounds the restarts on a fresh port.
const attempts = 5

// errRetry marks a start that lost its port to another process.
var errRetry = errors.New("the port was taken by another process")

// Start starts the program and waits until it is ready; the test fails when it is not. The process is
// killed when the test ends, and its output logged if the test failed.
func Start(t testing.TB, o Options) *Process {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Ready == nil {
		o.Ready = dial
	}
	var errs []error
	for range attempts {
		p, err := start(o)
		if err == nil {
			t.Cleanup(func() {
				p.Kill()
				if t.Failed() {
					t.Logf("output of %s:\n%s", p.Cmd.Path, p.Out)
				}
			})
			return p
		}
		errs = append(errs, err)
		if !errors.Is(err, errRetry) {
			break
		}
	}
	t.Fatalf("start: %v", errors.Join(errs...))
	return nil
}

// start starts the program once.
func start(o Options) (*Process, error) {
	addr := "127.0.0.1:0"
	if o.ReportedAddr == nil {
		var err error
		if addr, err = FreeAddr(); err != nil {
			return nil, err
		}
	}
	p := &Process{Cmd: o.Command(addr), Out: &Buffer{}, Addr: addr, done: make(chan struct{})}
	p.Cmd.Stdout, p.Cmd.Stderr = p.Out, p.Out
	if err := p.Cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.err = p.Cmd.Wait(); close(p.done) }()
	fail := func(err error) (*Process, error) {
		p.Kill()
		return nil, fmt.Errorf("%w\n%s", err, p.Out)
	}
	var last error
	for deadline := time.Now().Add(o.Timeout); ; time.Sleep(20 * time.Millisecond) {
		if p.Exited() {
			if o.ReportedAddr == nil && strings.Contains(p.Out.String(), "address already in use") {
				return fail(fmt.Errorf("%w: %s exited", errRetry, addr))
			}
			return fail(fmt.Errorf("the program exited before it was ready: %v", p.err))
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("not ready within %v: %v", o.Timeout, last))
		}
		if o.ReportedAddr != nil && p.Addr == addr {
			a, ok := o.ReportedAddr(p.Out.String())
			if !ok {
				continue
			}
			p.Addr = a
		}
		if last = o.Ready(p.Addr); last != nil {
			continue
		}
		// Ready; but when Start picked the port, the answer may have come from a stranger.
		if o.ReportedAddr == nil {
			if own, known := listensOn(p.Cmd.Process.Pid, p.Addr); known && !own {
				return fail(fmt.Errorf("%w: a process other than the child listens on %s", errRetry, p.Addr))
			}
		}
		return p, nil
	}
}

// dial is the default readiness check: the address accepts a TCP connection.
func dial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// FreeAddr returns a loopback address whose port was free a moment ago. Another process may take it
// before the caller binds it: use it only with Start, which detects that and retries, or for a
// server in the test process itself that retries.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
