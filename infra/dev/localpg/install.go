package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// EnsurePackages finds the PostgreSQL 15 binaries, pg_cron, pgTAP,
// plpgsql_check and pg_prove (see Find). If some are missing and the process runs as root on
// Debian, it installs the missing Debian packages with apt-get (running
// `apt-get update` first only if the install fails without it) and looks
// again. Otherwise it returns a *MissingError saying what to install. One
// progress line is written to log before installing; log may be nil.
func EnsurePackages(ctx context.Context, log io.Writer) (*Installation, error) {
	if log == nil {
		log = io.Discard
	}
	inst, err := Find(ctx)
	var miss *MissingError
	if !errors.As(err, &miss) {
		return inst, err
	}
	if os.Geteuid() != 0 || !isDebian() {
		return nil, err
	}
	fmt.Fprintf(log, "localpg: installing %s with apt-get ...\n", strings.Join(miss.Packages, " "))
	if err := aptInstall(ctx, miss.Packages); err != nil {
		return nil, fmt.Errorf("%w\n(%v)", miss, err)
	}
	inst, err = Find(ctx)
	if err != nil {
		return nil, fmt.Errorf("still incomplete after apt-get install: %w", err)
	}
	return inst, nil
}

// isDebian reports whether this looks like a Debian-based system with apt-get.
func isDebian() bool {
	if !fileExists("/etc/debian_version") {
		return false
	}
	_, err := exec.LookPath("apt-get")
	return err == nil
}

// aptInstall installs pkgs, running apt-get update and retrying once if the
// first attempt fails (typically because the package lists are empty).
func aptInstall(ctx context.Context, pkgs []string) error {
	install := append([]string{"install", "-y", "-q", "--no-install-recommends"}, pkgs...)
	if _, err := apt(ctx, install...); err == nil {
		return nil
	}
	if out, err := apt(ctx, "update", "-q"); err != nil {
		return fmt.Errorf("apt-get update: %v\n%s", err, lastLines(out, 20))
	}
	if out, err := apt(ctx, install...); err != nil {
		return fmt.Errorf("apt-get install: %v\n%s", err, lastLines(out, 20))
	}
	return nil
}

func apt(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	return cmd.CombinedOutput()
}

// lastLines returns at most n trailing lines of b.
func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
