package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configures Start.
type Options struct {
	// DataDir is a persistent data directory. If it already holds a cluster
	// (PG_VERSION exists) it is reused without initdb. It is never removed.
	// Empty means a fresh temporary directory "scheduler-pg-*".
	DataDir string
	// Keep leaves a temporary data directory in place after Stop.
	Keep bool
	// Installation says where PostgreSQL is; nil means Find.
	Installation *Installation
	// Log receives occasional notes (for example about permissions); nil
	// discards them.
	Log io.Writer
}

// Cluster is a throw-away PostgreSQL cluster listening on 127.0.0.1 with
// pg_cron (and pg_net, where installed) preloaded and trust authentication.
// Its bootstrap superuser is AdminUser; "postgres" is a non-superuser role
// with Supabase's attributes (see AdminBootstrap).
type Cluster struct {
	DataDir      string        // the cluster's data directory
	Port         int           // TCP port on 127.0.0.1
	Keep         bool          // Stop leaves DataDir in place
	Installation *Installation // the binaries the cluster runs with

	cred     *syscall.Credential // non-nil when the server runs as "postgres" because we are root
	log      io.Writer
	stopOnce sync.Once
	stopErr  error
}

// Start creates (or reuses, see Options.DataDir) a cluster, configures it
// and starts it with pg_ctl, waiting until it accepts connections, then
// applies SupabaseBootstrap (see Bootstrap). On failure the error includes
// the end of the server log, and anything Start created is cleaned up.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	inst := opts.Installation
	if inst == nil {
		var err error
		if inst, err = Find(ctx); err != nil {
			return nil, err
		}
	}
	c := &Cluster{Installation: inst, Keep: opts.Keep || opts.DataDir != "", log: opts.Log}
	if c.log == nil {
		c.log = io.Discard
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	c.cred = cred

	if opts.DataDir == "" {
		if c.DataDir, err = os.MkdirTemp("", "scheduler-pg-*"); err != nil {
			return nil, err
		}
	} else {
		if c.DataDir, err = filepath.Abs(opts.DataDir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
			return nil, err
		}
	}
	// A server already running on the data directory (another localpg exec, a benchmark) is left alone: a
	// failed second start used to end in cleanupFailedStart's immediate shutdown of that server.
	if opts.DataDir != "" && fileExists(filepath.Join(c.DataDir, "postmaster.pid")) &&
		c.command(ctx, "pg_ctl", "-D", c.DataDir, "status").Run() == nil {
		return nil, fmt.Errorf("a PostgreSQL server is already running on %s: connect to it (its port is on the "+
			"fourth line of postmaster.pid) or stop it first; localpg neither starts a second one nor stops it", c.DataDir)
	}
	if err := c.start(ctx); err != nil {
		c.cleanupFailedStart()
		return nil, err
	}
	// Every local database looks like a Supabase project's before its first migration.
	if err := c.Bootstrap(ctx); err != nil {
		c.cleanupFailedStart()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	if c.cred != nil {
		if err := handOver(c.DataDir, c.cred, c.log); err != nil {
			return fmt.Errorf("hand %s over to the postgres user: %w", c.DataDir, err)
		}
	}
	if !fileExists(filepath.Join(c.DataDir, "PG_VERSION")) {
		if err := c.initdb(ctx); err != nil {
			return err
		}
		if err := writeConf(c.DataDir, preloadLibraries(c.Installation)); err != nil {
			return fmt.Errorf("write postgresql.conf: %w", err)
		}
	}
	// The port is free when chosen but released before the server binds it; when another process takes
	// it meanwhile, the server cannot bind and exits (pg_ctl -w sees that), and we try a fresh port.
	var err error
	for range startAttempts {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		c.Port = port
		if err = c.startOn(ctx, port); err == nil || !errors.Is(err, errPortTaken) {
			return err
		}
		fmt.Fprintf(c.log, "localpg: port %d was taken before the server bound it; trying another\n", port)
	}
	return err
}

// startAttempts bounds the starts on a fresh port.
const startAttempts = 5

// errPortTaken marks a start that failed because another process bound the port first.
var errPortTaken = errors.New("the port was taken")

// startOn starts the server on port. -p and -k also cover a reused data directory whose
// postgresql.conf names an old port or socket directory.
func (c *Cluster) startOn(ctx context.Context, port int) error {
	serverOpts := fmt.Sprintf("-p %d -k %s", port, shQuote(socketDir(c.DataDir)))
	logFile := filepath.Join(c.DataDir, "server.log")
	before := fileSize(logFile)
	out, err := c.command(ctx, "pg_ctl", "-D", c.DataDir, "-l", logFile, "-o", serverOpts, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		tail, _ := os.ReadFile(logFile)
		if int64(len(tail)) >= before {
			tail = tail[before:]
		}
		if bytes.Contains(tail, []byte("Address already in use")) {
			err = fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return fmt.Errorf("pg_ctl start: %w\n%s\n--- last 40 lines of %s ---\n%s",
			err, strings.TrimSpace(string(out)), logFile, lastLines(tail, 40))
	}
	return nil
}

// fileSize is the size of the file at path, 0 when it does not exist.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// initdb initialises the data directory, with locale C.UTF-8 or, if that
// is not available, C.
func (c *Cluster) initdb(ctx context.Context) error {
	var errs []error
	for _, locale := range []string{"C.UTF-8", "C"} {
		// --no-sync: the cluster is disposable, skip flushing it to disk.
		out, err := c.command(ctx, "initdb", "-D", c.DataDir, "--auth=trust", "--username="+AdminUser,
			"--encoding=UTF8", "--locale="+locale, "--no-sync", "--no-instructions").CombinedOutput()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("initdb: %w", ctx.Err())
		}
		errs = append(errs, fmt.Errorf("initdb --locale=%s: %v\n%s", locale, err, lastLines(out, 20)))
		if err := emptyDir(c.DataDir); err != nil {
			errs = append(errs, err)
			break
		}
	}
	return errors.Join(errs...)
}

// URL returns the connection URL for the "postgres" database as the role
// "postgres", which, as on Supabase, is not a superuser.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
}

// AdminURL returns the connection URL for the "postgres" database as the
// administrative superuser AdminUser. Tests use it only for what only an
// administrator may do.
func (c *Cluster) AdminURL() string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", AdminUser, c.Port)
}

// AdminURLVar names the variable that carries AdminURL to tests.
const AdminURLVar = "ADMIN_DATABASE_URL"

// Vars returns the variables that point clients at the cluster:
// DATABASE_URL, ADMIN_DATABASE_URL, PGHOST, PGPORT, PGUSER and PGDATABASE.
func (c *Cluster) Vars() []string {
	return []string{
		"DATABASE_URL=" + c.URL(),
		AdminURLVar + "=" + c.AdminURL(),
		"PGHOST=127.0.0.1",
		"PGPORT=" + strconv.Itoa(c.Port),
		"PGUSER=postgres",
		"PGDATABASE=postgres",
	}
}

// Env returns the current process environment with Vars added (replacing
// any earlier values of those variables), ready for exec.Cmd.Env.
func (c *Cluster) Env() []string {
	vars := c.Vars()
	set := map[string]bool{}
	for _, kv := range vars {
		set[kv[:strings.IndexByte(kv, '=')]] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !set[k] {
			env = append(env, kv)
		}
	}
	return append(env, vars...)
}

// Stop shuts the server down (pg_ctl stop -m fast, falling back to
// -m immediate) and removes the data directory unless Keep is set. Calling
// it again returns the first result.
func (c *Cluster) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() {
		var errs []error
		if err := c.pgCtlStop(ctx); err != nil {
			errs = append(errs, err)
		}
		if !c.Keep {
			if err := os.RemoveAll(c.DataDir); err != nil {
				errs = append(errs, err)
			}
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

func (c *Cluster) pgCtlStop(ctx context.Context) error {
	out, err := c.command(ctx, "pg_ctl", "-D", c.DataDir, "-m", "fast", "-w", "-t", "60", "stop").CombinedOutput()
	if err == nil {
		return nil
	}
	if out2, err2 := c.command(ctx, "pg_ctl", "-D", c.DataDir, "-m", "immediate", "-w", "stop").CombinedOutput(); err2 != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s\n%s", err, strings.TrimSpace(string(out)), strings.TrimSpace(string(out2)))
	}
	return nil
}

// Restart stops the server (-m fast: open connections are cut, as in a real restart) and starts it again
// on the same port. Fault-injection tests use it.
func (c *Cluster) Restart(ctx context.Context) error {
	serverOpts := fmt.Sprintf("-p %d -k %s", c.Port, shQuote(socketDir(c.DataDir)))
	out, err := c.command(ctx, "pg_ctl", "-D", c.DataDir, "-l", filepath.Join(c.DataDir, "server.log"),
		"-o", serverOpts, "-m", "fast", "-w", "-t", "60", "restart").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl restart: %v\n%s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// cleanupFailedStart stops a server that may have come up and removes a
// temporary data directory.
func (c *Cluster) cleanupFailedStart() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if fileExists(filepath.Join(c.DataDir, "postmaster.pid")) {
		_ = c.command(ctx, "pg_ctl", "-D", c.DataDir, "-m", "immediate", "-w", "stop").Run()
	}
	if !c.Keep {
		_ = os.RemoveAll(c.DataDir)
	}
}

// command prepares a PostgreSQL server program: run as the postgres user
// when we are root, in its own process group (so a terminal's Ctrl-C does
// not reach the postmaster; Stop shuts it down in order), from "/" (the
// postgres user may not be able to enter the current directory), and
// without PG* variables that could redirect it.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.Installation.BinDir, name), args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	cmd.Env = []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// emptyDir removes everything inside dir but keeps dir itself.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
