package sqltree

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Entry is one object of a plain pg_dump: the statements between its "-- Name: ...; Type: ...; Schema: ..."
// header and the next one, without pg_dump's blank lines, comments and SET commands.
type Entry struct {
	Name   string // pg_dump's tag: "evaluate_batch(p_run_id uuid, ...)", "runs runs_pkey", "FUNCTION f(...)"
	Type   string // FUNCTION, TABLE, CONSTRAINT, ACL, COMMENT, ...
	Schema string // "-" for objects outside a schema
	SQL    string // the statements, canonical (see Split)
}

var headerRE = regexp.MustCompile(`^-- Name: (.*); Type: (.*); Schema: (.*); Owner: (.*)$`)

// ParseDump splits a plain, schema-only pg_dump into its entries, in the dump's order.
func ParseDump(dump string) []Entry {
	var (
		entries []Entry
		cur     *Entry
		body    []string
	)
	flush := func() {
		if cur != nil {
			cur.SQL = cleanBody(body)
			entries = append(entries, *cur)
		}
		body = nil
	}
	for _, line := range strings.Split(strings.ReplaceAll(dump, "\r\n", "\n"), "\n") {
		if m := headerRE.FindStringSubmatch(line); m != nil {
			flush()
			cur = &Entry{Name: m[1], Type: m[2], Schema: m[3]}
			continue
		}
		if cur != nil {
			body = append(body, line)
		}
	}
	flush()
	return entries
}

// setRE matches the SET commands pg_dump writes between entries (default_tablespace, ...).
var setRE = regexp.MustCompile(`^SET [a-z_]+ = .*;$`)

// cleanBody drops what pg_dump puts around an entry's statements: the header's closing "--", blank lines,
// the next header's opening "--", SET commands, the closing comment and psql's \unrestrict. Lines inside the
// statements (function bodies) are kept verbatim.
func cleanBody(lines []string) string {
	noise := func(l string) bool {
		return l == "" || l == "--" || strings.HasPrefix(l, "-- ") || setRE.MatchString(l) || strings.HasPrefix(l, `\`)
	}
	for len(lines) > 0 && noise(lines[0]) {
		lines = lines[1:]
	}
	for len(lines) > 0 && noise(lines[len(lines)-1]) {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return ""
	}
	for _, kind := range []string{"FUNCTION", "PROCEDURE", "VIEW"} {
		if rest, ok := strings.CutPrefix(lines[0], "CREATE "+kind+" "); ok {
			lines[0] = "CREATE OR REPLACE " + kind + " " + rest
		}
	}
	return strings.Join(lines, "\n")
}

// Kinds of tree files, named as their directories are (schema files and default privileges excepted).
const (
	KindFunction   = "functions"
	KindView       = "views"
	KindTable      = "tables"
	KindSequence   = "sequences"
	KindType       = "types"
	KindSchema     = "schema"
	KindPrivileges = "default_privileges"
)

// Part is one owning entry of a tree file (a table, a view, one overload of a function) followed by the
// entries that depend on it (its constraints, indexes, comments, grants, ...), in the dump's order.
type Part struct {
	Owner      Entry
	Dependents []Entry
}

// SQL is the part's statements, each entry separated by a blank line.
func (p Part) SQL() string {
	var s []string
	if p.Owner.SQL != "" {
		s = append(s, p.Owner.SQL)
	}
	for _, d := range p.Dependents {
		if d.SQL != "" {
			s = append(s, d.SQL)
		}
	}
	return strings.Join(s, "\n\n")
}

// Object is one file of the tree: a function's overloads, a view, a table with its dependents, a schema.
type Object struct {
	Path   string // relative to the tree's root: scheduler/functions/evaluate_batch.sql
	Kind   string // one of the Kind constants
	Schema string // "" for the default privileges
	Name   string // evaluate_batch, runs, scheduler
	Parts  []Part
}

// Header is the comment line that starts the object's file: what it is and how a change to it ships.
func (o Object) Header() string {
	switch o.Kind {
	case KindPrivileges:
		return "-- Default privileges the migrations set. A change ships in a hand-written migration (docs/architecture.md, \"SQL kept like code\")."
	case KindSchema:
		return fmt.Sprintf("-- Schema %s. A change ships in a hand-written migration (docs/architecture.md, \"SQL kept like code\").", o.Name)
	case KindFunction, KindView:
		what := map[string]string{KindFunction: "Function", KindView: "View"}[o.Kind]
		return fmt.Sprintf("-- %s %s.%s, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).", what, o.Schema, o.Name)
	}
	what := strings.TrimSuffix(o.Kind, "s")
	return fmt.Sprintf("-- %s %s.%s, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).",
		strings.ToUpper(what[:1])+what[1:], o.Schema, o.Name)
}

// Text is the file's canonical content: the header, then each part, separated by blank lines.
func (o Object) Text() string {
	s := []string{o.Header()}
	for _, p := range o.Parts {
		s = append(s, p.SQL())
	}
	return strings.Join(s, "\n\n") + "\n"
}

// Scope says which objects belong to the project's tree.
type Scope struct {
	Schemas []string // every object in these schemas, and the schemas themselves
	Tables  []string // these tables (schema.table) outside them, with their dependents
}

// ProjectScope is the scheduler's: schemas scheduler and scheduler_source, and public.notifications.
var ProjectScope = Scope{Schemas: []string{"scheduler", "scheduler_source"}, Tables: []string{"public.notifications"}}

func (s Scope) has(schema, name string) bool {
	for _, x := range s.Schemas {
		if x == schema {
			return true
		}
	}
	for _, t := range s.Tables {
		if t == schema+"."+name {
			return true
		}
	}
	return false
}

// owner identifies an owning entry: its schema and pg_dump tag (a relation's name, a function's name with
// its identity arguments).
type owner struct{ schema, tag string }

// Split groups a dump's entries into the tree's objects: every owning entry in scope with its dependents,
// one object per function name (its overloads in the dump's order), view, table (its sequences with it),
// schema; sorted by path. Entries in scope that it cannot place are an error, so that nothing is dropped
// silently.
func Split(entries []Entry, scope Scope) ([]Object, error) {
	parts := map[owner]*Part{}
	var order []owner
	kinds := map[owner]string{}
	relation := map[owner]owner{} // indexes and owned sequences -> their table
	for _, e := range entries {
		switch e.Type {
		case "FUNCTION", "PROCEDURE", "AGGREGATE", "VIEW", "MATERIALIZED VIEW", "TABLE", "TYPE", "DOMAIN", "SCHEMA":
			o := owner{e.Schema, e.Name}
			if e.Type == "SCHEMA" {
				o = owner{e.Name, "SCHEMA " + e.Name}
			}
			parts[o] = &Part{Owner: e}
			order = append(order, o)
			kinds[o] = kindOf(e.Type)
		case "INDEX":
			if t := indexTable(e.SQL); t != "" {
				relation[owner{e.Schema, e.Name}] = owner{e.Schema, t}
			}
		case "SEQUENCE":
			if t, ok := identityTable(e.SQL); ok {
				relation[owner{e.Schema, e.Name}] = owner{e.Schema, t}
			} else {
				o := owner{e.Schema, e.Name}
				parts[o] = &Part{Owner: e}
				order = append(order, o)
				kinds[o] = KindSequence
			}
		case "SEQUENCE OWNED BY":
			if t := ownedByTable(e.SQL, e.Schema); t != "" {
				relation[owner{e.Schema, e.Name}] = owner{e.Schema, t}
			}
		case "DEFAULT ACL":
			o := owner{e.Schema, "DEFAULT ACL"}
			if parts[o] == nil {
				parts[o] = &Part{Owner: Entry{Name: "DEFAULT PRIVILEGES", Type: "DEFAULT ACL", Schema: e.Schema}}
				order = append(order, o)
				kinds[o] = KindPrivileges
			}
			parts[o].Dependents = append(parts[o].Dependents, e)
		}
	}
	// An owned sequence moves to its table: its own part is merged there.
	for _, e := range entries {
		if e.Type != "SEQUENCE" && e.Type != "SEQUENCE OWNED BY" {
			continue
		}
		o := owner{e.Schema, e.Name}
		if t, ok := relation[o]; ok && parts[o] != nil && parts[t] != nil {
			delete(parts, o)
		}
	}
	for _, e := range entries {
		var o owner
		switch e.Type {
		case "FUNCTION", "PROCEDURE", "AGGREGATE", "VIEW", "MATERIALIZED VIEW", "TABLE", "TYPE", "DOMAIN", "SCHEMA", "DEFAULT ACL":
			continue
		case "SEQUENCE", "SEQUENCE OWNED BY":
			t, ok := relation[owner{e.Schema, e.Name}]
			if !ok {
				continue // a sequence of its own: an owning entry
			}
			o = t
		case "CONSTRAINT", "FK CONSTRAINT", "CHECK CONSTRAINT", "TRIGGER", "POLICY", "DEFAULT", "RULE":
			o = owner{e.Schema, firstIdent(e.Name)}
		case "ROW SECURITY":
			o = owner{e.Schema, e.Name}
		case "INDEX":
			o = relation[owner{e.Schema, e.Name}]
		case "COMMENT", "ACL":
			o = describedOwner(e, relation)
			if rest, ok := strings.CutPrefix(e.Name, "FUNCTION "); ok {
				o = functionOwner(order, e.Schema, rest)
			} else if rest, ok := strings.CutPrefix(e.Name, "PROCEDURE "); ok {
				o = functionOwner(order, e.Schema, rest)
			}
		default:
			continue // extensions, publications, ...: not the project's
		}
		p := parts[o]
		if p == nil {
			if scope.has(e.Schema, "") || (e.Schema == "-" && scope.has(strings.TrimPrefix(e.Name, "SCHEMA "), "")) {
				return nil, fmt.Errorf("pg_dump entry %q (%s, schema %s): cannot tell which object it belongs to", e.Name, e.Type, e.Schema)
			}
			continue
		}
		p.Dependents = append(p.Dependents, e)
	}

	files := map[string]*Object{}
	for _, o := range order {
		p := parts[o]
		if p == nil {
			continue
		}
		kind := kinds[o]
		var obj Object
		switch kind {
		case KindSchema:
			if !scope.has(o.schema, "") {
				continue
			}
			obj = Object{Path: o.schema + "/schema.sql", Kind: kind, Schema: o.schema, Name: o.schema}
		case KindPrivileges:
			if o.schema != "-" && !scope.has(o.schema, "") {
				continue
			}
			if o.schema == "-" {
				obj = Object{Path: "default_privileges.sql", Kind: kind}
			} else {
				obj = Object{Path: o.schema + "/schema.sql", Kind: KindSchema, Schema: o.schema, Name: o.schema}
			}
		default:
			name := unquote(baseName(o.tag))
			if !scope.has(o.schema, name) {
				continue
			}
			obj = Object{Path: o.schema + "/" + kind + "/" + name + ".sql", Kind: kind, Schema: o.schema, Name: name}
		}
		if f := files[obj.Path]; f != nil {
			f.Parts = append(f.Parts, *p)
			continue
		}
		obj.Parts = []Part{*p}
		files[obj.Path] = &obj
	}
	objs := make([]Object, 0, len(files))
	for _, f := range files {
		objs = append(objs, *f)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Path < objs[j].Path })
	return objs, nil
}

func kindOf(typ string) string {
	switch typ {
	case "FUNCTION", "PROCEDURE", "AGGREGATE":
		return KindFunction
	case "VIEW", "MATERIALIZED VIEW":
		return KindView
	case "TABLE":
		return KindTable
	case "SCHEMA":
		return KindSchema
	default:
		return KindType
	}
}

// describedOwner finds the object a COMMENT or ACL entry is about from its tag: "FUNCTION f(args)",
// "TABLE t", "COLUMN t.c", "CONSTRAINT c ON t", "INDEX i", "SEQUENCE s", "SCHEMA s", ...
func describedOwner(e Entry, relation map[owner]owner) owner {
	for _, prefix := range []string{"FUNCTION ", "PROCEDURE ", "AGGREGATE ", "TABLE ", "VIEW ", "MATERIALIZED VIEW ",
		"TYPE ", "DOMAIN ", "SEQUENCE ", "INDEX ", "COLUMN ", "CONSTRAINT ", "TRIGGER ", "POLICY ", "RULE ", "SCHEMA "} {
		rest, ok := strings.CutPrefix(e.Name, prefix)
		if !ok {
			continue
		}
		switch prefix {
		case "SCHEMA ":
			return owner{rest, e.Name}
		case "COLUMN ":
			return owner{e.Schema, firstIdentBefore(rest, '.')}
		case "CONSTRAINT ", "TRIGGER ", "POLICY ", "RULE ":
			if _, t, ok := strings.Cut(rest, " ON "); ok {
				return owner{e.Schema, t}
			}
		case "INDEX ", "SEQUENCE ":
			if t, ok := relation[owner{e.Schema, rest}]; ok {
				return t
			}
		}
		return owner{e.Schema, rest}
	}
	return owner{}
}

// functionOwner finds the function a COMMENT or ACL tag names. A function's own tag lists its argument
// types ("f(text, date)"); its comment's and grants' tags list its identity arguments, names included
// ("FUNCTION f(p_a text, p_d date)").
func functionOwner(order []owner, schema, identity string) owner {
	name := baseName(identity)
	args := splitArgs(strings.TrimSuffix(strings.TrimPrefix(identity, name+"("), ")"))
	for _, o := range order {
		if o.schema != schema || baseName(o.tag) != name {
			continue
		}
		types := splitArgs(strings.TrimSuffix(strings.TrimPrefix(o.tag, name+"("), ")"))
		if len(types) != len(args) {
			continue
		}
		same := true
		for i := range types {
			if args[i] != types[i] && !strings.HasSuffix(args[i], " "+types[i]) {
				same = false
				break
			}
		}
		if same {
			return o
		}
	}
	return owner{}
}

// splitArgs splits an argument list at its top-level commas (a type such as numeric(10,2) stays whole).
func splitArgs(list string) []string {
	var (
		args  []string
		depth int
		quote bool
		start int
	)
	for i := 0; i < len(list); i++ {
		switch c := list[i]; {
		case c == '"':
			quote = !quote
		case quote:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			args = append(args, strings.TrimSpace(list[start:i]))
			start = i + 1
		}
	}
	if s := strings.TrimSpace(list[start:]); s != "" || len(args) > 0 {
		args = append(args, s)
	}
	return args
}

var (
	indexRE    = regexp.MustCompile(`(?s)^CREATE (?:UNIQUE )?INDEX \S+ ON (?:ONLY )?(\S+?)\.(\S+) `)
	identityRE = regexp.MustCompile(`^ALTER TABLE (?:ONLY )?(\S+?)\.(\S+) ALTER COLUMN \S+ ADD GENERATED`)
	ownedByRE  = regexp.MustCompile(`(?m)^ALTER SEQUENCE \S+ OWNED BY (\S+?)\.(\S+)\.[^.]+;$`)
)

// indexTable is the table a CREATE INDEX statement indexes.
func indexTable(sql string) string {
	if m := indexRE.FindStringSubmatch(sql); m != nil {
		return m[2]
	}
	return ""
}

// identityTable is the table of an identity column's sequence (ALTER TABLE ... ADD GENERATED ... AS IDENTITY).
func identityTable(sql string) (string, bool) {
	if m := identityRE.FindStringSubmatch(sql); m != nil {
		return m[2], true
	}
	return "", false
}

// ownedByTable is the table an ALTER SEQUENCE ... OWNED BY names, when it is in schema.
func ownedByTable(sql, schema string) string {
	if m := ownedByRE.FindStringSubmatch(sql); m != nil && m[1] == schema {
		return m[2]
	}
	return ""
}

// firstIdent is the first identifier of a tag such as "runs runs_pkey" (possibly double-quoted).
func firstIdent(tag string) string { return firstIdentBefore(tag, ' ') }

func firstIdentBefore(tag string, sep byte) string {
	if strings.HasPrefix(tag, `"`) {
		for i := 1; i < len(tag); i++ {
			if tag[i] == '"' {
				if i+1 < len(tag) && tag[i+1] == '"' {
					i++
					continue
				}
				return tag[:i+1]
			}
		}
		return tag
	}
	if i := strings.IndexByte(tag, sep); i >= 0 {
		return tag[:i]
	}
	return tag
}

// baseName is a function tag without its arguments.
func baseName(tag string) string {
	if i := strings.IndexByte(tag, '('); i >= 0 && !strings.HasPrefix(tag, `"`) {
		return tag[:i]
	}
	if strings.HasPrefix(tag, `"`) {
		return firstIdentBefore(tag, '(')
	}
	return tag
}

// unquote removes an identifier's double quotes, for a file name.
func unquote(name string) string {
	if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
		return strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)
	}
	return name
}
