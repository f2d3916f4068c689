package bench

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The floor of the inactivity check: the latest activity of every active mentor, compared with the
// threshold, counted in the database and nothing else (no configuration, no notifications, no
// checkpoint, no JSON). Two formulations: one index probe per mentor (what the batch SQL does), and one
// index-only scan of all activities grouped by mentor. The floor is the faster of the two.
var floorQueries = map[string]string{
	"probe per mentor": `
		select count(*) from public.peer_mentors m
		where m.status = 'active'
		  and $1::date - coalesce((select max(a.activity_date) from public.activities a
		                           where a.user_id = m.id and a.activity_date <= $1), m.joined_on) >= 14`,
	"grouped index scan": `
		select count(*) from public.peer_mentors m
		left join (select a.user_id, max(a.activity_date) as last from public.activities a
		           where a.activity_date <= $1 group by a.user_id) la on la.user_id = m.id
		where m.status = 'active' and $1::date - coalesce(la.last, m.joined_on) >= 14`,
}

// runFloor times one formulation and returns the number of inactive mentors it found.
func runFloor(ctx context.Context, pool *pgxpool.Pool, query string, date time.Time) (int64, time.Duration, error) {
	var n int64
	started := time.Now()
	err := pool.QueryRow(ctx, query, date).Scan(&n)
	return n, time.Since(started), err
}
