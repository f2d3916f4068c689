// Package sqltree keeps the scheduler's SQL like code: one file per database object with its current
// definition, under supabase/schemas, next to the migrations that deployments apply.
//
// The tree is generated, not written by hand from scratch: a scratch database is migrated with
// supabase/migrations, dumped with pg_dump (--schema-only --no-owner), and the dump is split on its
// "-- Name: ...; Type: ...; Schema: ..." headers into objects. Each function (all overloads of one name),
// view, table (with its sequences, constraints, indexes, triggers, policies, row-level security, defaults,
// comments and grants) and schema of the project — schemas scheduler and scheduler_source, the table
// public.notifications, and the database-wide default privileges the migrations set — gets one file in a
// canonical form (Tree, Split). Check compares the committed tree with a fresh dump, so a test fails when the
// tree and the migrations disagree; NewMigration goes the other way: from the functions and views a
// maintainer edited in the tree it writes the next migration, in an order the database accepts, and checks
// that it brings a migrated database to the tree. Table changes stay hand-written ALTERs: the command names
// the table files that differ.
package sqltree
