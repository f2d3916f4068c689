// Package supabase carries the project's database as Supabase keeps it: timestamped migrations applied in
// order, the demo seed and the pgTAP tests. The SQL files are the source of truth; this package only embeds
// them so that Go programs (the migration runner, the quick start, the tests) apply exactly what the Supabase
// CLI would.
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
