package supabase_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/supabase"
)

// compatibility are the scheduler functions that only an older deployment calls, kept for one release
// (docs/architecture.md, "SQL signatures"): regprocedure text → the migration that drops it. A signature the
// store stops calling goes here in the release that replaces it, and is dropped in the next.
var compatibility = map[string]string{}

// operatorFunctions are the scheduler functions a person calls by hand, as the docs show, that no code calls
// nor names (most of those the docs show are also named by a function's hint or by Go, and need no entry).
var operatorFunctions = map[string]string{
	"scheduler.reconcile()": "docs/operations.md: the incremental run's reconciliation",
	"scheduler.schedule_split(text[],integer,integer,integer)": "docs/supabase.md: split schedules",
	"scheduler.unplannable_cron_jobs()":                        "docs/architecture.md: SQL signatures",
	"scheduler.watch_findings(timestamp with time zone)":       "docs/operations.md: what the watchdog finds now",
	// The change feed's entry, called by the triggers of the app's own mapping migration (the reference
	// mapping is not a migration), and its checks.
	"scheduler.note_mentor_change(uuid[],date[])": "docs/source-contract.md: the change feed (the app's triggers)",
	"scheduler.change_feed_coverage()":            "docs/source-contract.md: the change feed's coverage",
	"scheduler.change_feed_installed()":           "docs/source-contract.md: the change feed's coverage",
}

// sqlCall is a call of a scheduler function in SQL text: scheduler.<name>(, then its arguments.
var sqlCall = regexp.MustCompile(`scheduler\.([a-z_][a-z0-9_]*)\s*\(`)

// signatureLiteral is a Go string that is a function's signature, not SQL (verify's IntendedFunctions): it
// names a function that must exist, and calls nothing.
var signatureLiteral = regexp.MustCompile(`^scheduler\.[a-z_][a-z0-9_]*\((?:[a-z ]+(?:\[\])?(?:,[a-z ]+(?:\[\])?)*)?\)$`)

// goCall is a call of a scheduler function that SQL in the Go source makes: its name and argument count.
type goCall struct {
	name  string
	nargs int
}

// arguments counts the arguments of the call whose opening parenthesis ends s[:open+1]: commas at the top
// level, outside quotes, parentheses and brackets; -1 when the call is not closed.
func arguments(s string, open int) int {
	depth, n, empty := 0, 1, true
	var quote byte
	for i := open + 1; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ']':
			depth--
		case c == ')' && depth == 0:
			if empty {
				return 0
			}
			return n
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			n++
		}
		if c != ' ' && c != '\n' && c != '\t' {
			empty = false
		}
	}
	return -1
}

// goCalls are the scheduler functions the module's Go code calls: every call in a string literal of a
// non-test Go file (the store's queries, explain, status, verify, the quick start); and the signatures Go
// names as such (signatureLiteral), with the files.
func goCalls(t *testing.T) (calls map[goCall][]string, signatures map[string][]string) {
	t.Helper()
	calls, signatures = map[goCall][]string{}, map[string][]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || (strings.HasPrefix(d.Name(), ".") && path != "..")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			if signatureLiteral.MatchString(s) {
				signatures[s] = append(signatures[s], path)
				return true
			}
			for _, m := range sqlCall.FindAllStringSubmatchIndex(s, -1) {
				c := goCall{s[m[2]:m[3]], arguments(s, m[1]-1)}
				calls[c] = append(calls[c], path)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return calls, signatures
}

// matching are the signatures of scheduler.<name> a call with nargs arguments can resolve to (all of them when
// the call's arguments could not be counted).
func matching(byName map[string][]schedulerFunction, name string, nargs int) []schedulerFunction {
	var out []schedulerFunction
	for _, f := range byName[name] {
		if nargs < 0 || nargs >= f.Args-f.Defaults && nargs <= f.Args {
			out = append(out, f)
		}
	}
	return out
}

// schedulerFunction is a live function of schema scheduler.
type schedulerFunction struct {
	Signature string // regprocedure text
	Name      string
	Args      int
	Defaults  int
	Source    string
	// Attached: a trigger, a constraint, a column default or a view uses it.
	Attached bool
}

// Every function of schema scheduler has a caller: a signature the Go code calls (its name and argument
// count), a function reached from one of those, from a cron job's command, from a trigger, a constraint or a
// default, or from a function a person calls by the docs (operatorFunctions), or it is declared in
// compatibility for one release. A call reaches the signatures of its name that take its number of
// arguments, so an old signature beside the current one is not reached by the current one's callers.
// Anything else is dead code, or an old signature nobody dropped: it fails here. A call in Go that no
// signature takes fails too.
func TestSchedulerFunctionsHaveCallers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := connect(t, pgtestDatabase(t))
	rows, err := conn.Query(ctx, `
		select p.oid::regprocedure::text, p.proname::text, p.pronargs::int, p.pronargdefaults::int, p.prosrc,
		       exists (select 1 from pg_catalog.pg_depend d
		               where d.refclassid = 'pg_catalog.pg_proc'::regclass and d.refobjid = p.oid
		                 and d.classid <> 'pg_catalog.pg_proc'::regclass and d.deptype = 'n')
		from pg_catalog.pg_proc p
		where p.pronamespace = 'scheduler'::regnamespace
		  and not exists (select 1 from pg_catalog.pg_depend e where e.objid = p.oid and e.deptype = 'e')
		order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	live, err := pgx.CollectRows(rows, pgx.RowToStructByPos[schedulerFunction])
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]schedulerFunction{}
	for _, f := range live {
		byName[f.Name] = append(byName[f.Name], f)
	}

	// Roots: what Go calls (by name and argument count), what is attached, what is declared.
	reached := map[string]string{}
	calls, signatures := goCalls(t)
	for sig, files := range signatures {
		if !slices.ContainsFunc(live, func(f schedulerFunction) bool { return f.Signature == sig }) {
			t.Errorf("%s names %s: no such function in the migrated schema", files[0], sig)
		}
	}
	relations := queryStrings(t, conn, `select relname::text from pg_catalog.pg_class where relnamespace = 'scheduler'::regnamespace`)
	for c, files := range calls {
		if slices.Contains(relations, c.name) {
			continue // a table or view followed by a parenthesis ("scheduler.ops_settings (are the migrations applied?)")
		}
		matched := matching(byName, c.name, c.nargs)
		for _, f := range matched {
			reached[f.Signature] = "Go: " + files[0]
		}
		if len(matched) == 0 {
			t.Errorf("%s calls scheduler.%s with %d argument(s): no such function in the migrated schema", files[0], c.name, c.nargs)
		}
	}
	for _, f := range live {
		if f.Attached {
			reached[f.Signature] = "trigger, constraint, default or view"
		}
	}
	for _, declared := range []map[string]string{operatorFunctions, compatibility} {
		for sig, why := range declared {
			if !slices.ContainsFunc(live, func(f schedulerFunction) bool { return f.Signature == sig }) {
				t.Errorf("%s is declared (%s) but is not in the migrated schema", sig, why)
			}
			reached[sig] = why
		}
	}
	// The cron jobs' commands, where the server runs pg_cron in this database (the migrations schedule them
	// from functions whose source names them, which the walk below reaches as well).
	if ok := queryStrings(t, conn, `select (to_regclass('cron.job') is not null)::text`); ok[0] == "true" {
		for _, cmd := range queryStrings(t, conn, `select command from cron.job where database = current_database()`) {
			for _, m := range sqlCall.FindAllStringSubmatchIndex(cmd, -1) {
				for _, f := range matching(byName, cmd[m[2]:m[3]], arguments(cmd, m[1]-1)) {
					reached[f.Signature] = "cron job: " + cmd
				}
			}
		}
	}
	// A reached function's source reaches every function it calls (by name and argument count).
	for queue := slices.Collect(maps.Keys(reached)); len(queue) > 0; {
		sig := queue[0]
		queue = queue[1:]
		i := slices.IndexFunc(live, func(f schedulerFunction) bool { return f.Signature == sig })
		if i < 0 {
			continue
		}
		src := live[i].Source
		for _, m := range sqlCall.FindAllStringSubmatchIndex(src, -1) {
			for _, f := range matching(byName, src[m[2]:m[3]], arguments(src, m[1]-1)) {
				if _, seen := reached[f.Signature]; !seen && f.Signature != sig {
					reached[f.Signature] = "called by " + sig
					queue = append(queue, f.Signature)
				}
			}
		}
	}

	for _, f := range live {
		if _, ok := reached[f.Signature]; !ok {
			t.Errorf("%s: nothing calls it (no Go code, no reached scheduler function, cron job, trigger or constraint) and it is not declared: drop it, or declare it in compatibility for one release", f.Signature)
		}
	}
}

// dropOldSignatures is the migration that drops the signatures replaced in the release before.
const dropOldSignatures = "migrations/20261207120100_drop_old_signatures.sql"

// The drop keeps pg_cron's jobs working: a job that calls an old signature itself keeps it (until the job is
// changed, then the migration applied again drops it), and the scheduler's jobs, with every scheduler.invoke()
// arity one was ever scheduled with, still plan.
func TestDropOldSignaturesKeepsCronJobsWorking(t *testing.T) {
	ctx := context.Background()
	conn := cronDatabase(t)
	script, err := fs.ReadFile(supabase.Migrations, dropOldSignatures)
	if err != nil {
		t.Fatal(err)
	}
	exists := func(tx pgx.Tx, sig string) bool {
		t.Helper()
		var ok bool
		if err := tx.QueryRow(ctx, `select to_regprocedure($1) is not null`, sig).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	inRolledBackTx(t, conn, func(tx pgx.Tx) {
		// A project where an operator scheduled an old signature by hand, and jobs with old invoke() arities.
		mustExec(t, tx, `create function scheduler.remaining_mentors(p_after uuid) returns bigint
			language sql set search_path = '' as 'select 0::bigint'`)
		mustExec(t, tx, `select cron.schedule('compat-old-signature', '0 0 * * *', 'select scheduler.remaining_mentors(null::uuid);')`)
		for i, cmd := range []string{
			`select scheduler.invoke()`,
			`select scheduler.invoke(array['milestone'])`,
			`select scheduler.invoke(null, 'scenario-scheduler-daily')`,
			`select scheduler.invoke(array['inactivity'], 'scenario-scheduler-inactivity', false)`,
			`select scheduler.invoke(null, 'scenario-scheduler-daily', false, 4)`,
			`select scheduler.invoke(scenarios => null, job => 'x', dry_run => true, shards => 2, slot => 'Europe/Oslo@08', evaluation_date => current_date)`,
		} {
			mustExec(t, tx, `select cron.schedule($1, '0 6 * * *', $2)`, fmt.Sprintf("compat-invoke-%d", i), cmd)
		}
		mustExec(t, tx, string(script))
		if !exists(tx, "scheduler.remaining_mentors(uuid)") {
			t.Error("the migration dropped scheduler.remaining_mentors(uuid), which a cron job calls")
		}
		if got := queryStrings(t, tx, `select jobname || ': ' || error from scheduler.unplannable_cron_jobs()`); len(got) > 0 {
			t.Errorf("cron jobs that no longer plan after the migration: %v", got)
		}
		// The job changed to the current signature, the migration applied again drops the old one.
		mustExec(t, tx, `select cron.alter_job(jobid, command := 'select scheduler.remaining_mentors(null::uuid, 1, 1, '''')')
			from cron.job where jobname = 'compat-old-signature'`)
		mustExec(t, tx, string(script))
		if exists(tx, "scheduler.remaining_mentors(uuid)") {
			t.Error("applied again after the job changed, the migration kept scheduler.remaining_mentors(uuid)")
		}
		if got := queryStrings(t, tx, `select jobname || ': ' || error from scheduler.unplannable_cron_jobs()`); len(got) > 0 {
			t.Errorf("cron jobs that do not plan: %v", got)
		}
	})
	inRolledBackTx(t, conn, func(tx pgx.Tx) {
		// unplannable_cron_jobs plans a command, never runs it: not even a second statement.
		mustExec(t, tx, `create table public.compat_probe (x integer)`)
		mustExec(t, tx, `select cron.schedule('compat-two-statements', '0 0 * * *', 'select 1; insert into public.compat_probe values (1)')`)
		mustExec(t, tx, `select cron.schedule('compat-missing', '0 0 * * *', 'select scheduler.no_such_function()')`)
		got := queryStrings(t, tx, `select jobname from scheduler.unplannable_cron_jobs() order by jobname`)
		if !slices.Equal(got, []string{"compat-missing", "compat-two-statements"}) {
			t.Errorf("unplannable_cron_jobs: %v, want compat-missing and compat-two-statements", got)
		}
		if n := queryStrings(t, tx, `select count(*)::text from public.compat_probe`); n[0] != "0" {
			t.Errorf("planning the cron commands ran a statement: %s rows", n[0])
		}
	})
}
