package sqltree

import (
	"fmt"
	"strings"
)

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
