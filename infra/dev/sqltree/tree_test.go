package sqltree_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/infra/dev/sqltree"
)

// treeDir is the committed tree, from this package's directory.
var treeDir = filepath.Join("..", "..", "..", "supabase", "schemas")

// testBundle is a migrated database (what `supabase db push` gives a project) and a copy of the committed
// tree the test may edit.
type testBundle struct {
	ctx   context.Context
	dbURL string
	tree  string
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	dbURL := pgtest.NewMigratedDatabase(t)
	tree := filepath.Join(t.TempDir(), "schemas")
	if err := os.CopyFS(tree, os.DirFS(treeDir)); err != nil {
		t.Fatal(err)
	}
	return &testBundle{ctx: ctx, dbURL: dbURL, tree: tree}
}

// edit replaces old by new in the tree copy's file p, which must hold old.
func (b *testBundle) edit(t *testing.T, p, old, new string) {
	t.Helper()
	full := filepath.Join(b.tree, filepath.FromSlash(p))
	text, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), old) {
		t.Fatalf("%s does not hold %q", p, old)
	}
	if err := os.WriteFile(full, []byte(strings.Replace(string(text), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSchemaTreeMatchesMigrations fails when supabase/schemas and supabase/migrations disagree: a migration
// changed an object and the tree was not regenerated, or a tree file was edited without its migration.
func TestSchemaTreeMatchesMigrations(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewMigratedDatabase(t)
	diffs, err := sqltree.Check(context.Background(), dbURL, treeDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Error(d)
	}
	if len(diffs) > 0 {
		t.Log("after new migrations: go tool task sql:tree; after editing the tree: go tool task sql:migration -- NAME")
	}
	tree, err := sqltree.ReadTree(treeDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"scheduler/functions/evaluate_batch.sql", "scheduler/tables/runs.sql",
		"scheduler_source/views/peer_mentors.sql", "public/tables/notifications.sql"} {
		if _, ok := tree[p]; !ok {
			t.Errorf("the tree has no %s", p)
		}
	}
}

func TestCheckReportsStaleMissingAndExtraFiles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.edit(t, "scheduler/functions/zone_known.sql", "    return false;\n  end if;", "    return null;\n  end if;")
	if err := os.Remove(filepath.Join(b.tree, "scheduler", "tables", "runs.sql")); err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(b.tree, "scheduler", "views", "not_migrated.sql")
	if err := os.WriteFile(extra, []byte("CREATE OR REPLACE VIEW scheduler.not_migrated AS SELECT 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	diffs, err := sqltree.Check(b.ctx, b.dbURL, b.tree)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range diffs {
		got = append(got, d.Path+" "+d.Problem)
	}
	want := "scheduler/functions/zone_known.sql stale, scheduler/tables/runs.sql missing, scheduler/views/not_migrated.sql extra"
	if strings.Join(got, ", ") != want {
		t.Fatalf("differences: %s\nwant: %s", strings.Join(got, ", "), want)
	}
	if d := diffs[0].Diff; !strings.Contains(d, "-     return null;") || !strings.Contains(d, "+     return false;") {
		t.Errorf("the stale file's excerpt does not show the edited line:\n%s", d)
	}
}

func TestWriteTreeRemovesWhatItNoLongerProduces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, _, err := sqltree.WriteTree(dir, map[string]string{"s/functions/a.sql": "a\n", "s/views/v.sql": "v\n"}); err != nil {
		t.Fatal(err)
	}
	written, removed, err := sqltree.WriteTree(dir, map[string]string{"s/functions/a.sql": "a\n", "s/functions/b.sql": "b\n"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(written, " ") != "s/functions/b.sql" || strings.Join(removed, " ") != "s/views/v.sql" {
		t.Errorf("written %v, removed %v", written, removed)
	}
	if _, err := os.Stat(filepath.Join(dir, "s", "views")); !os.IsNotExist(err) {
		t.Errorf("the emptied directory is still there (%v)", err)
	}
	tree, err := sqltree.ReadTree(dir)
	if err != nil || len(tree) != 2 || tree["s/functions/b.sql"] != "b\n" {
		t.Errorf("ReadTree = %v, %v", tree, err)
	}
}
