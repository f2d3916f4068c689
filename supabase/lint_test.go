package supabase_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

// splinterLints are Supabase's Security Advisor rules (github.com/supabase/splinter, lints/*.sql) that the
// project must pass, written here from their definitions: each query returns "lint: object" per finding.
// The schemas the lints leave out are Supabase's own and extensions' (splinterExcluded).
var splinterLints = map[string]string{
	"extension_in_public": `
		select e.extname::text from pg_catalog.pg_extension e
		where e.extname <> 'plpgsql' and e.extnamespace::regnamespace::text = 'public'`,
	"function_search_path_mutable": `
		select n.nspname || '.' || p.proname from pg_catalog.pg_proc p
		join pg_catalog.pg_namespace n on n.oid = p.pronamespace
		left join pg_catalog.pg_depend d on d.objid = p.oid and d.deptype = 'e'
		where n.nspname <> all (` + splinterExcluded + `) and d.objid is null
		  and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) c where c like 'search_path=%')`,
	"security_definer_view": `
		select n.nspname || '.' || c.relname from pg_catalog.pg_class c
		join pg_catalog.pg_namespace n on n.oid = c.relnamespace
		left join pg_catalog.pg_depend d on d.objid = c.oid and d.deptype = 'e'
		where c.relkind = 'v'
		  and (pg_catalog.has_table_privilege('anon', c.oid, 'SELECT') or pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT'))
		  and n.nspname = any (array(select trim(unnest(string_to_array(current_setting('pgrst.db_schemas', true), ',')))))
		  and n.nspname <> all (` + splinterExcluded + `) and d.objid is null
		  and not (lower(coalesce(c.reloptions::text, '{}'))::text[]
		           && array['security_invoker=1', 'security_invoker=true', 'security_invoker=yes', 'security_invoker=on'])`,
	"rls_disabled_in_public": `
		select n.nspname || '.' || c.relname from pg_catalog.pg_class c
		join pg_catalog.pg_namespace n on n.oid = c.relnamespace
		where c.relkind = 'r' and not c.relrowsecurity
		  and (pg_catalog.has_table_privilege('anon', c.oid, 'SELECT') or pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT'))
		  and n.nspname = any (array(select trim(unnest(string_to_array(current_setting('pgrst.db_schemas', true), ',')))))
		  and n.nspname <> all (` + splinterExcluded + `)`,
	"policy_exists_rls_disabled": `
		select distinct n.nspname || '.' || c.relname from pg_catalog.pg_policy p
		join pg_catalog.pg_class c on c.oid = p.polrelid
		join pg_catalog.pg_namespace n on n.oid = c.relnamespace
		left join pg_catalog.pg_depend d on d.objid = c.oid and d.deptype = 'e'
		where c.relkind = 'r' and n.nspname <> all (` + splinterExcluded + `)
		  and not c.relrowsecurity and d.objid is null`,
}

// splinterExcluded are the schemas splinter's lints leave out.
const splinterExcluded = `array['_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal',
	'auth', 'cron', 'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium',
	'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
	'supabase_migrations', 'tiger', 'topology', 'vault']`

// Finding 7: Supabase's Security Advisor finds nothing on the migrated database. The Data API exposes
// public and graphql_public (Supabase's default pgrst.db_schemas).
func TestSecurityAdvisorLints(t *testing.T) {
	ctx := context.Background()
	_, conn, _ := supabaseLike(t)
	if _, err := conn.Exec(ctx, `set pgrst.db_schemas = 'public, graphql_public'`); err != nil {
		t.Fatal(err)
	}
	for name, q := range splinterLints {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var rest []string
		for _, f := range found {
			if name == "function_search_path_mutable" && inlinedOnPurpose[f] {
				continue
			}
			rest = append(rest, f)
		}
		if len(rest) > 0 {
			t.Errorf("%s: %v", name, rest)
		}
	}

	// The exceptions hold to what makes the lint's concern moot for them (see the migration
	// 20261201100100_least_privilege.sql): SECURITY INVOKER, outside the schemas the Data API exposes, and
	// executable by none of the API roles, the function role or PUBLIC.
	rows, err := conn.Query(ctx, `
		select n.nspname || '.' || p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
		where n.nspname || '.' || p.proname = any($1)
		  and not p.prosecdef
		  and n.nspname <> all (array(select trim(unnest(string_to_array(current_setting('pgrst.db_schemas'), ',')))))
		  and not exists (select 1 from unnest(array['anon', 'authenticated', 'service_role', 'scenario_scheduler']) r
		                  where has_function_privilege(r, p.oid, 'EXECUTE'))
		  and not exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
		                  where a.grantee = 0 and a.privilege_type = 'EXECUTE')`, slices.Collect(maps.Keys(inlinedOnPurpose)))
	if err != nil {
		t.Fatal(err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != len(inlinedOnPurpose) {
		t.Errorf("of the functions left without a fixed search_path, only %v are SECURITY INVOKER, unexposed and owner-only; want all of %v",
			held, slices.Sorted(maps.Keys(inlinedOnPurpose)))
	}
}

// inlinedOnPurpose are the functions that keep a mutable search_path so that the planner inlines them into
// scheduler.evaluate_batch (a SET clause prevents inlining; infra/dev/benchdata/plan_test.go guards it). The
// reason is written next to them in supabase/migrations/20261201100100_least_privilege.sql.
var inlinedOnPurpose = map[string]bool{
	"scheduler.effective_config":         true,
	"scheduler.inactivity_assessment":    true,
	"scheduler.milestone_assessment":     true,
	"scheduler.certification_assessment": true,
	"scheduler.inactivity_facts":         true,
	"scheduler.milestone_facts":          true,
	"scheduler.certification_facts":      true,
	"scheduler.walk":                     true,
	"scheduler.batch_mentors":            true,
	"scheduler.batch_certifications":     true,
	"scheduler.evaluated_mentors":        true,
	"scheduler.candidates":               true,
	"scheduler.sent_on":                  true,
	"scheduler.holdout_bucket":           true,
	"scheduler.holdout_config":           true,
	"scheduler.nudge_outcomes":           true,
	"scheduler.cooldown_until":           true,
	"scheduler.classified_candidates":    true,
	"scheduler.due_mentors":              true,
}
