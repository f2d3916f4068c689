package benchdata

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// Label names a size the short way: 500, 10k, 100k, 1m.
func Label(mentors int) string {
	switch {
	case mentors >= 1_000_000 && mentors%1_000_000 == 0:
		return strconv.Itoa(mentors/1_000_000) + "m"
	case mentors >= 1_000 && mentors%1_000 == 0:
		return strconv.Itoa(mentors/1_000) + "k"
	}
	return strconv.Itoa(mentors)
}

// DatabaseName is the database a size lives in on a benchmark cluster, so that sizes coexist.
func DatabaseName(mentors int) string { return "bench_" + Label(mentors) }

// marker is stored as the database's comment once a load has completed; a database without the marker of
// the wanted spec is rebuilt.
func marker(s Spec) string {
	return fmt.Sprintf("benchdata v1 mentors=%d seed=%d", s.Mentors, s.Seed)
}

// Ensure makes sure the server at serverURL holds the dataset of spec in its own database
// (DatabaseName), creating, migrating and loading it when missing or incomplete.
// It applies migrations added since the load (rebuild forces a reload). It returns the database's URL, and the load's stats when it loaded.
func Ensure(ctx context.Context, serverURL string, spec Spec, rebuild bool, progress io.Writer) (string, *Stats, error) {
	name := DatabaseName(spec.Mentors)
	dbURL, err := postgres.WithDatabase(serverURL, name)
	if err != nil {
		return "", nil, err
	}
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", nil, err
	}
	defer admin.Close(ctx)
	var comment *string
	err = admin.QueryRow(ctx, `select shobj_description(oid, 'pg_database') from pg_database where datname = $1`, name).Scan(&comment)
	switch {
	case err == pgx.ErrNoRows:
	case err != nil:
		return "", nil, err
	case !rebuild && comment != nil && strings.HasPrefix(*comment, marker(spec)):
		return dbURL, nil, migrate(ctx, dbURL)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`drop database if exists %s with (force)`, name)); err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`create database %s`, name)); err != nil {
		return "", nil, err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	if err := migrate(ctx, dbURL); err != nil {
		return "", nil, err
	}
	st, err := Load(ctx, conn, spec, progress)
	if err != nil {
		return "", nil, fmt.Errorf("loading %s: %w", name, err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`comment on database %s is '%s'`, name, marker(spec))); err != nil {
		return "", nil, err
	}
	return dbURL, &st, nil
}

// ParseSizes reads a comma-separated list of sizes: 500, 10000, 10k, 1m.
func ParseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		mult := 1
		switch {
		case strings.HasSuffix(f, "k"):
			mult, f = 1_000, strings.TrimSuffix(f, "k")
		case strings.HasSuffix(f, "m"):
			mult, f = 1_000_000, strings.TrimSuffix(f, "m")
		}
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		out = append(out, n*mult)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no size given")
	}
	return out, nil
}

// migrate applies the migrations the database lacks.
func migrate(ctx context.Context, dbURL string) error {
	ms, err := postgres.LoadMigrations(supabase.Migrations)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := postgres.Migrate(ctx, conn, ms); err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	// The benchmark's app is the reference schema, read through its source mapping like any project's.
	if err := postgres.ApplySQL(ctx, conn, supabase.Reference()); err != nil {
		return fmt.Errorf("loading the reference app schema: %w", err)
	}
	return nil
}

// SharedBuffers is the shared_buffers a benchmark server is given (ALTER SYSTEM; it takes effect at the
// server's next start): enough for the hot indexes of the 1M dataset, as on a database server sized for
// an organisation of that size. The stock 256 MB of a test cluster makes every probe a page-cache read.
const SharedBuffers = "1GB"

// Tune sets SharedBuffers on the server when it has less, and says whether a restart is needed for it.
func Tune(ctx context.Context, serverURL string) (bool, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return false, err
	}
	defer conn.Close(ctx)
	var current, wanted int64
	if err := conn.QueryRow(ctx, `select setting::bigint * 8192, pg_size_bytes($1) from pg_settings where name = 'shared_buffers'`,
		SharedBuffers).Scan(&current, &wanted); err != nil {
		return false, err
	}
	if current >= wanted {
		return false, nil
	}
	_, err = conn.Exec(ctx, fmt.Sprintf(`alter system set shared_buffers = '%s'`, SharedBuffers))
	return err == nil, err
}
