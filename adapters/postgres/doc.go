// Package postgres implements the engine's Store and DeliveryStore (push outbox) ports on PostgreSQL with pgx/v5, and applies the project's
// Supabase migrations. Scenario rules run inside the database as SECURITY DEFINER functions (see
// supabase/migrations): this package only calls them, one statement per operation, so it works through
// Supavisor's transaction pooler as well (Config.NoPreparedStatements).
package postgres
