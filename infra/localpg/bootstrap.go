package localpg

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// SupabaseBootstrap is SQL that gives a plain PostgreSQL database what a Supabase project has before its
// first migration: the roles anon, authenticated and service_role, a minimal auth.uid(), and Supabase's
// default privileges in schema public. Each part is created only when absent, so applying it twice, or to a
// real Supabase database, changes nothing. It is not a migration: migrations never create Supabase's roles.
//
//go:embed supabase_bootstrap.sql
var SupabaseBootstrap string

// bootstrapDatabases receive SupabaseBootstrap when a cluster starts: template1, so that every database
// created afterwards (the tests' databases) has it, and postgres, the database pg_cron runs in.
var bootstrapDatabases = []string{"template1", "postgres"}

// Bootstrap applies SupabaseBootstrap to template1 and postgres with psql.
func (c *Cluster) Bootstrap(ctx context.Context) error {
	for _, db := range bootstrapDatabases {
		url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
		// psql is a client: it runs as the current user, over TCP, without PG* variables that could redirect it.
		cmd := exec.CommandContext(ctx, c.Installation.Psql(),
			"--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", "--dbname", url, "--file", "-")
		cmd.Dir = "/"
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "PG") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Stdin = strings.NewReader(SupabaseBootstrap)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("bootstrapping database %s: %v\n%s", db, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
