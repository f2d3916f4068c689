package pgtest

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Population statements: $1 is the number of mentors, $2 the day the data is relative to. Every id derives
// from the mentor's number, so two databases given the same population and day produce the same
// notifications.
var populationSQL = []string{
	`insert into public.organisations (id, name) values (md5('population')::uuid, 'Population')
	 on conflict (id) do nothing`,
	// Mentors: one in 17 paused; joined 20 to 119 days before the day.
	`insert into public.peer_mentors (id, organisation_id, full_name, joined_on, status)
	 select md5('m' || i)::uuid, md5('population')::uuid, 'M', $2::date - 20 - (i % 100),
	        case when i % 17 = 0 then 'paused' else 'active' end
	 from generate_series(1, $1::int) i`,
	// Activities: none for one in 7 mentors; otherwise 1 to 30, the last 0 to 39 days ago, every other day.
	`insert into public.activities (user_id, activity_date)
	 select md5('m' || i)::uuid, $2::date - (i % 40) - 2 * k
	 from generate_series(1, $1::int) i, generate_series(0, i % 30) k
	 where i % 7 <> 0`,
	// Certifications for one in 3 mentors, expiring from 5 days ago to 44 days ahead.
	`insert into public.certifications (id, user_id, name, expires_at)
	 select md5('c' || i)::uuid, md5('m' || i)::uuid, 'C', $2::date + (i % 50) - 5
	 from generate_series(1, $1::int) i where i % 3 = 0`,
}

// Populate adds n generated mentors, relative to day, and analyzes the tables.
func Populate(ctx context.Context, pool *pgxpool.Pool, n int, day time.Time) error {
	d := day.Format("2006-01-02")
	if _, err := pool.Exec(ctx, populationSQL[0]); err != nil {
		return fmt.Errorf("populating: %w", err)
	}
	for _, stmt := range populationSQL[1:] {
		if _, err := pool.Exec(ctx, stmt, n, d); err != nil {
			return fmt.Errorf("populating %d mentors: %w", n, err)
		}
	}
	_, err := pool.Exec(ctx, `analyze public.peer_mentors, public.activities, public.certifications`)
	return err
}
