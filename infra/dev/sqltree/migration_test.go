package sqltree_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/infra/dev/sqltree"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// newMigration runs NewMigration over the bundle's tree copy, writing into a temporary directory; extra
// migrations are applied after the project's.
func (b *testBundle) newMigration(t *testing.T, extra ...postgres.Migration) (*sqltree.MigrationResult, string) {
	t.Helper()
	ms, err := postgres.LoadMigrations(supabase.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	ms = append(ms, extra...)
	dir := t.TempDir()
	res, err := sqltree.NewMigration(b.ctx, sqltree.MigrationOptions{
		ServerURL: pgtest.ServerURL(t), TreeDir: b.tree, MigrationsDir: dir, Migrations: ms,
		Name: "tree_change", Now: time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Path == "" {
		return res, ""
	}
	if want := filepath.Join(dir, "20990102030405_tree_change.sql"); res.Path != want {
		t.Fatalf("migration written to %s, want %s", res.Path, want)
	}
	text, err := os.ReadFile(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(text)
}

func TestNewMigrationFromEditedFunctionsAndViews(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// An edited body, an overload the database has and its file does not, a function file deleted, and two new SQL functions
	// whose file order is the wrong way round (aaa calls zzz, and SQL bodies are checked at creation).
	b.edit(t, "scheduler/functions/zone_known.sql", "  if p_zone is null or p_zone = '' then", "  if p_zone is null or pg_catalog.btrim(p_zone) = '' then")
	// The overload: a database with a second zone_known, which the tree's zone_known.sql does not hold.
	overload := postgres.Migration{Version: "20990101000000", Name: "overload", SQL: `create function scheduler.zone_known(p_zone text, p_strict boolean)
		returns boolean language sql stable set search_path = '' as $$ select scheduler.zone_known(p_zone) $$;`}
	if err := os.Remove(filepath.Join(b.tree, "scheduler", "functions", "prune.sql")); err != nil {
		t.Fatal(err)
	}
	b.write(t, "scheduler/functions/aaa_new.sql", "-- Function scheduler.aaa_new, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).\n\n"+
		"CREATE OR REPLACE FUNCTION scheduler.aaa_new() RETURNS integer\n    LANGUAGE sql\n    AS $$ select scheduler.zzz_new() + 1 $$;\n\n"+
		"REVOKE ALL ON FUNCTION scheduler.aaa_new() FROM PUBLIC;\n")
	b.write(t, "scheduler/functions/zzz_new.sql", "-- Function scheduler.zzz_new, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).\n\n"+
		"CREATE OR REPLACE FUNCTION scheduler.zzz_new() RETURNS integer\n    LANGUAGE sql\n    AS $$ select 41 $$;\n\n"+
		"REVOKE ALL ON FUNCTION scheduler.zzz_new() FROM PUBLIC;\n")

	// A new view over the new function, and a view file deleted.
	b.write(t, "scheduler/views/aaa_view.sql", "-- View scheduler.aaa_view, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).\n\n"+
		"CREATE OR REPLACE VIEW scheduler.aaa_view AS\n SELECT scheduler.zzz_new() AS n;\n")
	if err := os.Remove(filepath.Join(b.tree, "scheduler", "views", "run_history.sql")); err != nil {
		t.Fatal(err)
	}

	res, text := b.newMigration(t, overload)
	if text == "" {
		t.Fatal("no migration written")
	}
	if got, want := strings.Join(res.Replaced, " "), "scheduler/functions/aaa_new.sql scheduler/functions/zone_known.sql scheduler/functions/zzz_new.sql scheduler/views/aaa_view.sql"; got != want {
		t.Errorf("replaced: %s\nwant:     %s", got, want)
	}
	for _, s := range []string{
		"drop function if exists scheduler.zone_known(text, boolean);",
		"drop function if exists scheduler.prune(",
		"pg_catalog.btrim(p_zone)",
		"drop view if exists scheduler.run_history;",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("the migration lacks %q:\n%s", s, text)
		}
	}
	if strings.Count(text, "drop function") != 2 {
		t.Errorf("want exactly two drops (the removed overload and prune), the migration:\n%s", text)
	}
	z, a, v := strings.Index(text, "FUNCTION scheduler.zzz_new()"), strings.Index(text, "FUNCTION scheduler.aaa_new()"), strings.Index(text, "VIEW scheduler.aaa_view")
	if z < 0 || a < 0 || v < 0 || z > a || z > v {
		t.Errorf("zzz_new must come before aaa_new and aaa_view, which call it:\n%s", text)
	}
	if len(res.Tables) != 0 {
		t.Errorf("table differences reported: %v", res.Tables)
	}
	for _, d := range res.Remaining {
		t.Errorf("still differs after the migration: %s", d)
	}
}

func TestNewMigrationDropsWhatCannotBeReplaced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// A result type changed (CREATE OR REPLACE refuses it) and a view column removed (so does CREATE OR
	// REPLACE VIEW).
	b.edit(t, "scheduler/functions/zone_known.sql", "RETURNS boolean", "RETURNS text")
	b.edit(t, "scheduler_source/views/organisations.sql", "    NULL::text AS name,\n    NULL::text AS timezone\n", "    NULL::text AS name\n")

	res, text := b.newMigration(t)
	for _, pair := range [][2]string{
		{"drop function if exists scheduler.zone_known(text);", "CREATE OR REPLACE FUNCTION scheduler.zone_known(p_zone text) RETURNS text"},
		{"drop view if exists scheduler_source.organisations;", "CREATE OR REPLACE VIEW scheduler_source.organisations AS"},
	} {
		d, c := strings.Index(text, pair[0]), strings.Index(text, pair[1])
		if d < 0 || c < 0 || d > c {
			t.Errorf("want %q before %q in the migration:\n%s", pair[0], pair[1], text)
		}
	}
	for _, d := range res.Remaining {
		t.Errorf("still differs after the migration: %s", d)
	}
}

func TestNewMigrationLeavesTablesToTheMaintainer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.edit(t, "scheduler/tables/runs.sql", "    report jsonb\n", "    report jsonb,\n    note text\n")

	res, text := b.newMigration(t)
	if len(res.Tables) != 1 || res.Tables[0].Path != "scheduler/tables/runs.sql" {
		t.Fatalf("tables: %v", res.Tables)
	}
	if !strings.Contains(text, "--   scheduler/tables/runs.sql (stale)") || regexp.MustCompile(`(?im)^alter table`).MatchString(text) {
		t.Errorf("the migration should name runs.sql for a hand-written ALTER and write none:\n%s", text)
	}
	if len(res.Remaining) != 1 || res.Remaining[0].Path != "scheduler/tables/runs.sql" {
		t.Errorf("remaining: %v", res.Remaining)
	}
}

func TestNewMigrationWithNothingToDo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, text := b.newMigration(t)
	if res.Path != "" || text != "" {
		t.Fatalf("a tree that agrees with the migrations gave a migration: %s\n%s", res.Path, text)
	}
}

// write creates the tree copy's file p.
func (b *testBundle) write(t *testing.T, p, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(b.tree, filepath.FromSlash(p)), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
