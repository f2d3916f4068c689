package sqltree

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
)

// MigrationOptions says where NewMigration reads the tree and writes the migration.
type MigrationOptions struct {
	ServerURL     string               // the server scratch databases are created on (DATABASE_URL)
	TreeDir       string               // supabase/schemas
	MigrationsDir string               // supabase/migrations: where the new migration is written
	Migrations    []postgres.Migration // the migrations so far, applied to the scratch database
	Name          string               // the new migration's name: <UTC timestamp>_<Name>.sql
	Now           time.Time            // its timestamp
	Version       string               // overrides Now's timestamp (YYYYMMDDHHMMSS), e.g. to follow a version set ahead of the clock
}

// MigrationResult is what NewMigration did.
type MigrationResult struct {
	Path      string       // the migration written, "" when there was nothing to do
	Replaced  []string     // tree files written whole into it (functions and views)
	Dropped   []string     // drop statements it holds, for objects without a tree file (or overload)
	Tables    []Difference // tree files it cannot write a migration for (tables, schemas, privileges)
	Remaining []Difference // what still differs after the migration was applied to a migrated database
}

// chunk is one piece of a function or view file a migration applies: one overload (with its comments and
// grants), or a view.
type chunk struct {
	path, schema, name, kind string
	sql                      string
	prefix                   string // a drop the statement needs first (a changed return type or view columns)
	touched                  []string
}

var createRE = regexp.MustCompile(`(?im)^create\s+(?:or\s+replace\s+)?(?:function|procedure|view|materialized\s+view)\s`)

// chunks splits a tree file into its parts: each starts at a CREATE of a function, procedure or view; the
// file's header comment is left out.
func chunks(path, text string, obj Object) []chunk {
	if strings.HasPrefix(text, "--") {
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		}
	}
	starts := createRE.FindAllStringIndex(text, -1)
	var cs []chunk
	for i, s := range starts {
		begin, end := s[0], len(text)
		if i == 0 {
			begin = 0
		}
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		cs = append(cs, chunk{path: path, schema: obj.Schema, name: obj.Name, kind: obj.Kind, sql: strings.TrimSpace(text[begin:end])})
	}
	return cs
}

// objectOfPath describes a tree path (schema/kind/name.sql).
func objectOfPath(p string) Object {
	parts := strings.Split(p, "/")
	if len(parts) != 3 {
		return Object{Path: p}
	}
	return Object{Path: p, Schema: parts[0], Kind: parts[1], Name: strings.TrimSuffix(parts[2], ".sql")}
}

// NewMigration writes the migration that brings a database migrated with opts.Migrations to the tree in
// opts.TreeDir, as far as that can be generated: every function and view file that differs from the
// migrated database (or is new) whole, in an order the database accepts (found by applying them in rounds
// on a scratch database), "drop function if exists" for each function overload the tree no longer has and
// "drop view if exists" for each view. Differences in tables, schemas and privileges are listed in the
// migration and in the result for a hand-written ALTER. The migration is then applied to the migrated
// database and what still differs is returned. With nothing to do it writes nothing.
func NewMigration(ctx context.Context, opts MigrationOptions) (*MigrationResult, error) {
	if !regexp.MustCompile(`^[a-z0-9_]+$`).MatchString(opts.Name) {
		return nil, fmt.Errorf("migration name %q: use lower-case letters, digits and underscores", opts.Name)
	}
	version := opts.Now.UTC().Format("20060102150405")
	if opts.Version != "" {
		if !regexp.MustCompile(`^[0-9]{14}$`).MatchString(opts.Version) {
			return nil, fmt.Errorf("migration version %q: want 14 digits, YYYYMMDDHHMMSS", opts.Version)
		}
		version = opts.Version
	}
	if n := len(opts.Migrations); n > 0 && opts.Migrations[n-1].Version >= version {
		return nil, fmt.Errorf("the new migration's version %s is not after the last one (%s): check the clock, or give a later one with -version", version, opts.Migrations[n-1].Version)
	}
	tree, err := ReadTree(opts.TreeDir)
	if err != nil {
		return nil, err
	}
	base, err := NewScratch(ctx, opts.ServerURL, opts.Migrations)
	if err != nil {
		return nil, err
	}
	defer base.Drop()
	objs, err := DumpObjects(ctx, base.URL)
	if err != nil {
		return nil, err
	}
	dumped := map[string]Object{}
	for _, o := range objs {
		dumped[o.Path] = o
	}
	res := &MigrationResult{}
	var (
		pending   []chunk
		dropViews []string
		dropFuncs []string
	)
	for _, d := range Compare(tree, Files(objs)) {
		obj := objectOfPath(d.Path)
		if o, ok := dumped[d.Path]; ok {
			obj = o
		}
		switch {
		case obj.Kind != KindFunction && obj.Kind != KindView:
			res.Tables = append(res.Tables, d)
		case d.Problem == Extra || d.Problem == Stale:
			res.Replaced = append(res.Replaced, d.Path)
			pending = append(pending, chunks(d.Path, tree[d.Path], obj)...)
		case obj.Kind == KindView:
			dropViews = append(dropViews, fmt.Sprintf("drop view if exists %s.%s;", obj.Schema, obj.Name))
		default:
			for _, p := range obj.Parts {
				dropFuncs = append(dropFuncs, fmt.Sprintf("drop function if exists %s.%s;", obj.Schema, p.Owner.Name))
			}
		}
	}
	if len(pending) == 0 && len(dropViews) == 0 && len(dropFuncs) == 0 && len(res.Tables) == 0 {
		return res, nil
	}

	// The order: apply the pieces on a copy of the migrated database, each in its own transaction, in
	// rounds, until every piece applies (a view after the functions it reads, a SQL function after those it
	// calls) or a round makes no progress.
	order, err := applyInRounds(ctx, base, pending)
	if err != nil {
		return nil, err
	}
	// Function overloads the tree no longer has: in the migrated database, not redefined by any piece.
	touched := map[string]bool{}
	for _, c := range order {
		for _, f := range c.touched {
			touched[f] = true
		}
	}
	for _, p := range res.Replaced {
		o, ok := dumped[p]
		if !ok || o.Kind != KindFunction {
			continue
		}
		for _, part := range o.Parts {
			if sig := o.Schema + "." + part.Owner.Name; !touched[sig] {
				dropFuncs = append(dropFuncs, fmt.Sprintf("drop function if exists %s;", sig))
			}
		}
	}
	res.Dropped = append(append(res.Dropped, dropViews...), dropFuncs...)

	var b strings.Builder
	fmt.Fprintf(&b, "-- %s: generated by `go tool task sql:migration` from the SQL tree (supabase/schemas): each function\n", opts.Name)
	b.WriteString("-- and view file that changed, whole, in an order the database accepts; drops for what the tree no longer has.\n")
	if len(res.Tables) > 0 {
		b.WriteString("-- TODO: these tree files differ and need statements written by hand here (ALTER TABLE ...);\n")
		b.WriteString("-- `go tool task sql:migration` checks the result again:\n")
		for _, d := range res.Tables {
			fmt.Fprintf(&b, "--   %s (%s)\n", d.Path, d.Problem)
		}
	}
	for _, s := range dropViews {
		b.WriteString("\n" + s + "\n")
	}
	for _, c := range order {
		fmt.Fprintf(&b, "\n-- %s\n", c.path)
		if c.prefix != "" {
			b.WriteString(c.prefix + "\n")
		}
		b.WriteString(c.sql + "\n")
	}
	for _, s := range dropFuncs {
		b.WriteString("\n" + s + "\n")
	}
	m := postgres.Migration{Version: version, Name: opts.Name, SQL: b.String()}
	res.Path = filepath.Join(opts.MigrationsDir, version+"_"+opts.Name+".sql")
	if err := os.WriteFile(res.Path, []byte(m.SQL), 0o644); err != nil {
		return nil, err
	}

	// Check: the new migration on the migrated database, then the tree against its dump.
	conn, err := pgx.Connect(ctx, base.URL)
	if err != nil {
		return res, err
	}
	_, err = postgres.Migrate(ctx, conn, append(append([]postgres.Migration{}, opts.Migrations...), m))
	conn.Close(ctx)
	if err != nil {
		return res, fmt.Errorf("the new migration does not apply (it is written: fix or delete %s): %w", res.Path, err)
	}
	after, err := DumpObjects(ctx, base.URL)
	if err != nil {
		return res, err
	}
	res.Remaining = Compare(tree, Files(after))
	return res, nil
}

var dropHintRE = regexp.MustCompile(`^Use DROP FUNCTION (.+) first\.$`)

// applyInRounds applies each chunk, in its own committed transaction, on a clone of base; a chunk that fails
// is retried in the next round, until all applied (their order is returned) or a round applied none. A
// function whose return type or parameter names change needs a drop first (PostgreSQL says so in its hint);
// a view that loses or renames columns too: the chunk then gets that drop.
func applyInRounds(ctx context.Context, base *Scratch, pending []chunk) ([]chunk, error) {
	if len(pending) == 0 {
		return nil, nil
	}
	clone, err := base.Clone(ctx)
	if err != nil {
		return nil, err
	}
	defer clone.Drop()
	conn, err := pgx.Connect(ctx, clone.URL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)

	var order []chunk
	failures := map[int]error{}
	for len(pending) > 0 {
		var next []chunk
		for _, c := range pending {
			err := applyChunk(ctx, conn, &c)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && c.prefix == "" {
				switch {
				case pgErr.Code == "42P13" && dropHintRE.MatchString(pgErr.Hint):
					c.prefix = fmt.Sprintf("drop function if exists %s;", dropHintRE.FindStringSubmatch(pgErr.Hint)[1])
					err = applyChunk(ctx, conn, &c)
				case pgErr.Code == "42P16" && c.kind == KindView:
					c.prefix = fmt.Sprintf("drop view if exists %s.%s;", c.schema, c.name)
					err = applyChunk(ctx, conn, &c)
				}
			}
			if err != nil {
				failures[len(next)] = err
				next = append(next, c)
				continue
			}
			order = append(order, c)
		}
		if len(next) == len(pending) {
			var msgs []string
			for i, c := range next {
				msgs = append(msgs, fmt.Sprintf("  %s (%s): %v", c.path, firstLine(c.sql), failures[i]))
			}
			return nil, fmt.Errorf("these tree pieces do not apply to the migrated database in any order:\n%s", strings.Join(msgs, "\n"))
		}
		pending, failures = next, map[int]error{}
	}
	return order, nil
}

// applyChunk runs c's statements in a transaction and records which functions they created or replaced:
// the pg_proc rows the transaction wrote (their xmin is its id; no savepoint is used, so no subtransaction id),
// named as pg_dump tags them: schema.name(argument types).
func applyChunk(ctx context.Context, conn *pgx.Conn, c *chunk) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, c.prefix+"\n"+c.sql); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			select n.nspname || '.' || p.proname || '(' || pg_catalog.array_to_string(array(
			         select pg_catalog.format_type(a.t, null) from unnest(p.proargtypes::oid[]) with ordinality a (t, i)
			         order by a.i), ', ') || ')'
			from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
			where p.xmin = pg_catalog.pg_current_xact_id()::xid`)
		if err != nil {
			return err
		}
		c.touched, err = pgx.CollectRows(rows, pgx.RowTo[string])
		sort.Strings(c.touched)
		return err
	})
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}
