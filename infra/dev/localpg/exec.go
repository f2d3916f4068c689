package localpg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// ExecOptions configures Exec.
type ExecOptions struct {
	DataDir string    // see Options.DataDir
	Keep    bool      // see Options.Keep
	Stderr  io.Writer // progress lines; nil means os.Stderr
}

// Exec runs argv with DATABASE_URL (and ADMIN_DATABASE_URL, PGHOST, PGPORT, PGUSER, PGDATABASE)
// pointing at a fresh cluster, and returns argv's exit code.
//
// If DATABASE_URL is already set, Exec starts nothing and runs argv with
// the environment unchanged. Otherwise it calls EnsurePackages, Start
// (which also applies SupabaseBootstrap), runs
// argv with stdin, stdout and stderr passed through, and stops the cluster
// however argv ends. SIGINT and SIGTERM are forwarded to argv; one that
// arrives while the cluster is starting aborts the start. A non-nil error
// means localpg itself failed (or argv could not be started); the returned
// code is then non-zero as well.
func Exec(ctx context.Context, opts ExecOptions, argv []string) (int, error) {
	if len(argv) == 0 {
		return 2, errors.New("no command given")
	}
	stderr := opts.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	startCtx, cancelStart := context.WithCancel(ctx)
	defer cancelStart()
	fw := &forwarder{cancel: cancelStart}
	go fw.loop(sigs)

	if os.Getenv("DATABASE_URL") != "" {
		fmt.Fprintln(stderr, "localpg: using DATABASE_URL from the environment")
		return fw.run(argv, nil)
	}

	inst, err := EnsurePackages(startCtx, stderr)
	if err != nil {
		return fw.abortCode(1), err
	}
	c, err := Start(startCtx, Options{DataDir: opts.DataDir, Keep: opts.Keep, Installation: inst, Log: stderr})
	if err != nil {
		if code := fw.abortCode(0); code != 0 {
			return code, errors.New("interrupted while starting the cluster")
		}
		return 1, err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if err := c.Stop(stopCtx); err != nil {
			fmt.Fprintf(stderr, "localpg: stopping the cluster: %v\n", err)
		}
	}()
	where := "data " + c.DataDir
	if !c.Keep {
		where = "temporary data " + c.DataDir
	}
	fmt.Fprintf(stderr, "localpg: PostgreSQL %s on 127.0.0.1:%d (%s, pg_cron %s)\n",
		inst.ServerVersion, c.Port, where, inst.PgCronVersion)
	return fw.run(argv, c.Env())
}

// forwarder passes signals to the running child, or cancels the cluster
// start while there is no child yet.
type forwarder struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	proc   *os.Process
	got    os.Signal
}

func (f *forwarder) loop(sigs <-chan os.Signal) {
	for s := range sigs {
		f.mu.Lock()
		f.got = s
		if f.proc != nil {
			_ = f.proc.Signal(s)
		} else {
			f.cancel()
		}
		f.mu.Unlock()
	}
}

// abortCode returns the conventional 128+N exit code if a signal arrived,
// else code.
func (f *forwarder) abortCode(code int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.got.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return code
}

// run starts argv with env (nil: unchanged) and waits for it.
func (f *forwarder) run(argv []string, env []string) (int, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	f.mu.Lock()
	if s, ok := f.got.(syscall.Signal); ok {
		f.mu.Unlock()
		return 128 + int(s), fmt.Errorf("interrupted by %v", s)
	}
	err := cmd.Start()
	f.proc = cmd.Process
	f.mu.Unlock()
	if err != nil {
		return 127, err
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	default:
		return 1, err
	}
}
