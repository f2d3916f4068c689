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

// The floor of the inactivity rule as it stands since the re-engagement policy
// (20261201150000_reengagement_policy.sql): besides the latest activity, a mentor past the threshold has
// the nudges of the current spell read (the policy fires only below its repeat cap and repeat_every_days
// after the previous nudge), which any correct evaluation must read too. Default parameters hard-coded
// (14 days, a repeat every 14 days, two repeats), no configuration, cooldown, idempotency key, backfill
// check, JSON, write or checkpoint; the count is the day's nudges. The same two formulations.
var ruleFloorQueries = map[string]string{
	"probe per mentor": `
		select count(*) from public.peer_mentors m
		cross join lateral (select coalesce(max(a.activity_date), m.joined_on) as start from public.activities a
		                    where a.user_id = m.id and a.activity_date <= $1) s
		cross join lateral (select count(*) as nudges, max(n.evaluation_date) as last_nudge from public.notifications n
		                    where $1::date - s.start >= 14 and n.user_id = m.id and n.scenario = 'inactivity'
		                      and n.evaluation_date > s.start and n.evaluation_date < $1) sp
		where m.status = 'active' and $1::date - s.start >= 14 and sp.nudges <= 2
		  and coalesce($1::date - sp.last_nudge >= 14, true)`,
	"grouped index scan": `
		select count(*) from (
		  select 1 from public.peer_mentors m
		  left join (select a.user_id, max(a.activity_date) as last from public.activities a
		             where a.activity_date <= $1 group by a.user_id) la on la.user_id = m.id
		  left join (select n.user_id, n.evaluation_date from public.notifications n
		             where n.scenario = 'inactivity' and n.evaluation_date < $1) n
		    on n.user_id = m.id and n.evaluation_date > coalesce(la.last, m.joined_on)
		  where m.status = 'active' and $1::date - coalesce(la.last, m.joined_on) >= 14
		  group by m.id
		  having count(n.evaluation_date) <= 2 and coalesce($1::date - max(n.evaluation_date) >= 14, true)) x`,
}

// runFloor times one formulation and returns the number of inactive mentors it found.
func runFloor(ctx context.Context, pool *pgxpool.Pool, query string, date time.Time) (int64, time.Duration, error) {
	var n int64
	started := time.Now()
	err := pool.QueryRow(ctx, query, date).Scan(&n)
	return n, time.Since(started), err
}
