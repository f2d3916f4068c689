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

// AdminBootstrap is SQL that the administrative role (AdminUser) runs before SupabaseBootstrap: the
// non-superuser role postgres with Supabase's attributes, schema extensions with pgcrypto and btree_gist,
// pg_cron with Supabase's grants in the database it runs in, and pg_net where the server preloads it.
//
//go:embed admin_bootstrap.sql
var AdminBootstrap string

// AdminUser is the cluster's bootstrap superuser, as on Supabase. Only what only an administrator may do
// runs as this role (the bootstrap, test stand-ins for Supabase's extensions, pgTAP's extension); the
// migrations and every test run as the non-superuser role postgres.
const AdminUser = "supabase_admin"

// bootstrapDatabases receive the bootstrap when a cluster starts: template1, so that every database
// created afterwards (the tests' databases) has it, and postgres, the database pg_cron and pg_net run in.
var bootstrapDatabases = []string{"template1", "postgres"}

// Bootstrap applies AdminBootstrap and SupabaseBootstrap to template1 and postgres with psql, as AdminUser.
// A reused data directory made by an older localpg, whose bootstrap superuser is postgres, first gets the
// AdminUser role (postgres then stops being a superuser).
func (c *Cluster) Bootstrap(ctx context.Context) error {
	if err := c.psql(ctx, "postgres", "postgres", fmt.Sprintf(`do $$ begin
		if not exists (select 1 from pg_roles where rolname = '%s') then create role %s superuser login; end if;
		end $$`, AdminUser, AdminUser)); err != nil && !c.adminExists(ctx) {
		return fmt.Errorf("creating the administrative role: %w", err)
	}
	for _, db := range bootstrapDatabases {
		if err := c.psql(ctx, AdminUser, db, AdminBootstrap+"\n"+SupabaseBootstrap); err != nil {
			return fmt.Errorf("bootstrapping database %s: %w", db, err)
		}
	}
	return nil
}

// adminExists reports whether AdminUser can connect (a fresh cluster: initdb made it).
func (c *Cluster) adminExists(ctx context.Context) bool {
	return c.psql(ctx, AdminUser, "postgres", "select 1") == nil
}

// psql runs script in database db as user with psql, over TCP, without PG* variables that could redirect it.
func (c *Cluster) psql(ctx context.Context, user, db, script string) error {
	url := fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", user, c.Port, db)
	cmd := exec.CommandContext(ctx, c.Installation.Psql(),
		"--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", "--dbname", url, "--file", "-")
	cmd.Dir = "/"
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
