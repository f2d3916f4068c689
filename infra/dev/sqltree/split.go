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
			o = describedOwner(e, relation, order)
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
