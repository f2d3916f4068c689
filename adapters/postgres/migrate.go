package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Migration is one file of supabase/migrations: <version>_<name>.sql.
type Migration struct {
	Version, Name, SQL string
}

// LoadMigrations reads the migrations of fsys (a directory "migrations" inside it) in version order.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	files, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var ms []Migration
	for _, f := range files {
		base := strings.TrimSuffix(path.Base(f), ".sql")
		version, name, ok := strings.Cut(base, "_")
		if !ok || len(version) != 14 {
			return nil, fmt.Errorf("migration %s: want <14-digit version>_<name>.sql", f)
		}
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: version, Name: name, SQL: string(body)})
	}
	return ms, nil
}

// The history table as the Supabase CLI keeps it, so that a database migrated here and one migrated with
// `supabase db push` agree on what has been applied.
const historyDDL = `
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version text not null primary key,
  statements text[],
  name text
)`

// Migrate applies, in order, each migration not yet recorded in supabase_migrations.schema_migrations, each
// in its own transaction with its history row. Concurrent migrators wait for each other (advisory lock).
// It returns the versions it applied.
func Migrate(ctx context.Context, conn *pgx.Conn, ms []Migration) ([]string, error) {
	if _, err := conn.Exec(ctx, historyDDL); err != nil {
		return nil, fmt.Errorf("creating the migration history: %w", err)
	}
	if _, err := conn.Exec(ctx, `select pg_advisory_lock(hashtext('supabase_migrations'))`); err != nil {
		return nil, err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `select pg_advisory_unlock(hashtext('supabase_migrations'))`) //nolint:errcheck

	var applied []string
	for _, m := range ms {
		var done bool
		if err := conn.QueryRow(ctx, `select exists (select 1 from supabase_migrations.schema_migrations where version = $1)`, m.Version).Scan(&done); err != nil {
			return applied, err
		}
		if done {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)`,
				m.Version, m.Name, []string{m.SQL})
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migration %s_%s: %w", m.Version, m.Name, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// ApplySQL runs a SQL script (several statements, no parameters) in one transaction: the seed, test fixtures.
func ApplySQL(ctx context.Context, conn *pgx.Conn, script string) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, script)
		return err
	})
}
