// Package supabase carries the project's database as Supabase keeps it: timestamped migrations applied in
// order, the demo seed and the pgTAP tests. The SQL files are the source of truth; this package only embeds
// them so that Go programs (the migration runner, the quick start, the tests) apply exactly what the Supabase
// CLI would. schemas/ (not embedded) holds each object's current definition, kept in step with the migrations
// by infra/dev/sqltree.
package supabase

import "embed"

// Migrations holds migrations/<version>_<name>.sql, applied in lexical (version) order.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Seed is seed.sql: deterministic demo data (three organisations, about 500 mentors) whose dates are relative
// to the day it is loaded, so the demo shows every scenario whenever it runs.
//
//go:embed seed.sql
var Seed string

// ReferenceSchema is reference/app_schema.sql: the peer-mentor app's reference tables (organisations, peer
// mentors, activities, certifications, device tokens) that the quick start, the tests and the benchmark use.
// It is not a migration: production projects have their own tables.
//
//go:embed reference/app_schema.sql
var ReferenceSchema string

// ReferenceMapping is reference/source_mapping.sql: the source contract's views (schema scheduler_source)
// mapped onto ReferenceSchema. It replaces the placeholders the migrations create, so it runs after them.
//
//go:embed reference/source_mapping.sql
var ReferenceMapping string

// Reference is the reference app as the quick start, the tests and the benchmark load it after the
// migrations: ReferenceSchema, then ReferenceMapping (the order of [db.seed] in config.toml, before seed.sql).
func Reference() string { return ReferenceSchema + "\n" + ReferenceMapping }
