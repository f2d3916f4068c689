package sqltree

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/peermentor/scenario-scheduler/infra/dev/localpg"
)

// PgDump finds pg_dump where infra/dev/localpg finds the PostgreSQL 15 server (pg_config of version 15,
// then Debian's /usr/lib/postgresql/15/bin), then on PATH. A pg_dump older than the server refuses to dump,
// so the one beside the server comes first.
func PgDump(ctx context.Context) (string, error) {
	inst, _ := localpg.Find(ctx) // a missing extension does not matter here: only the binaries do
	if inst != nil {
		if p := filepath.Join(inst.BinDir, "pg_dump"); isExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("pg_dump"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("pg_dump not found: install PostgreSQL 15's client programs (Debian: apt-get install %s)", localpg.PkgServer)
}

// Dump runs pg_dump --schema-only --no-owner on the database at dbURL and returns the plain dump.
func Dump(ctx context.Context, dbURL string) (string, error) {
	bin, err := PgDump(ctx)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, "--schema-only", "--no-owner", "--dbname", dbURL)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("pg_dump: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out.String(), nil
}

// DumpObjects dumps the database at dbURL and splits it into the project's objects (ProjectScope).
func DumpObjects(ctx context.Context, dbURL string) ([]Object, error) {
	dump, err := Dump(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	return Split(ParseDump(dump), ProjectScope)
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}
