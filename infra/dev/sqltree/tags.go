package sqltree

import (
	"regexp"
	"strings"
)

// describedOwner finds the object a COMMENT or ACL entry is about from its tag: "FUNCTION f(args)",
// "TABLE t", "COLUMN t.c", "CONSTRAINT c ON t", "INDEX i", "SEQUENCE s", "SCHEMA s", ...
func describedOwner(e Entry, relation map[owner]owner, order []owner) owner {
	for _, prefix := range []string{"FUNCTION ", "PROCEDURE ", "AGGREGATE ", "TABLE ", "VIEW ", "MATERIALIZED VIEW ",
		"TYPE ", "DOMAIN ", "SEQUENCE ", "INDEX ", "COLUMN ", "CONSTRAINT ", "TRIGGER ", "POLICY ", "RULE ", "SCHEMA "} {
		rest, ok := strings.CutPrefix(e.Name, prefix)
		if !ok {
			continue
		}
		switch prefix {
		case "FUNCTION ", "PROCEDURE ", "AGGREGATE ":
			return functionOwner(order, e.Schema, rest)
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
