package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The naive baseline: what a straightforward implementation does, one query per mentor per scenario from
// the application, deciding in Go and inserting each notification on its own. It is given every advantage
// the real design cannot assume: default parameters hard-coded (no per-organisation configuration), prepared
// statements, one connection kept for the whole loop, and duplicates and cooldowns left to the constraints
// (ON CONFLICT DO NOTHING) instead of checked.
const (
	naiveMentors = `select id, organisation_id, joined_on from public.peer_mentors
	                where status = 'active' and id > $1 order by id limit $2`
	naiveLast  = `select max(activity_date) from public.activities where user_id = $1 and activity_date <= $2`
	naiveCount = `select count(*) from public.activities where user_id = $1 and activity_date <= $2`
	naiveSent  = `select coalesce(max((data ->> 'level')::integer), 0) from public.notifications
	                where user_id = $1 and scenario = 'milestone'`
	naiveCerts  = `select id, expires_at from public.certifications where user_id = $1 and expires_at >= $2`
	naiveInsert = `insert into public.notifications (user_id, organisation_id, scenario, evaluation_date,
	                  idempotency_key, cooldown_period, priority, data)
	                values ($1, $2, $3, $4, $5, case when $6::integer > 0 then daterange($4::date, $4::date + $6::integer) end, $7, $8)
	                on conflict do nothing`
)

// naiveResult is one naive pass.
type naiveResult struct {
	Mentors  int
	Queries  int
	Notified int
	Took     time.Duration
}

// runNaive evaluates the first limit active mentors (all when limit ≤ 0) for every scenario, one mentor at
// a time.
func runNaive(ctx context.Context, pool *pgxpool.Pool, date time.Time, limit int) (naiveResult, error) {
	var r naiveResult
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return r, err
	}
	defer conn.Release()
	c := conn.Conn()
	started := time.Now()
	type mentor struct {
		id, org [16]byte
		joined  time.Time
	}
	after := [16]byte{}
	for limit <= 0 || r.Mentors < limit {
		page := 1000
		if limit > 0 {
			page = min(page, limit-r.Mentors)
		}
		rows, err := c.Query(ctx, naiveMentors, after, page)
		if err != nil {
			return r, err
		}
		ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (mentor, error) {
			var m mentor
			return m, row.Scan(&m.id, &m.org, &m.joined)
		})
		r.Queries++
		if err != nil {
			return r, err
		}
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			n, q, err := naiveMentor(ctx, c, date, m.id, m.org, m.joined)
			r.Notified += n
			r.Queries += q
			if err != nil {
				return r, err
			}
		}
		r.Mentors += len(ms)
		after = ms[len(ms)-1].id
	}
	r.Took = time.Since(started)
	return r, nil
}

// naiveMentor runs the three scenarios for one mentor; it returns notifications created and queries sent.
func naiveMentor(ctx context.Context, c *pgx.Conn, date time.Time, id, org [16]byte, joined time.Time) (int, int, error) {
	notified, queries := 0, 0
	insert := func(scenario, key string, cooldown, priority int, data map[string]any) error {
		queries++
		tag, err := c.Exec(ctx, naiveInsert, id, org, scenario, date, key, cooldown, priority, data)
		notified += int(tag.RowsAffected())
		return err
	}
	uid := fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])
	ds := date.Format(time.DateOnly)

	// inactivity
	var last *time.Time
	queries++
	if err := c.QueryRow(ctx, naiveLast, id, date).Scan(&last); err != nil {
		return notified, queries, err
	}
	since := joined
	if last != nil {
		since = *last
	}
	if days := int(date.Sub(since).Hours() / 24); days >= 14 {
		if err := insert("inactivity", "inactivity:"+uid+":"+ds, 7, 10, map[string]any{"days_inactive": days}); err != nil {
			return notified, queries, err
		}
	}

	// milestone
	var count, sent int
	queries += 2
	if err := c.QueryRow(ctx, naiveCount, id, date).Scan(&count); err != nil {
		return notified, queries, err
	}
	if err := c.QueryRow(ctx, naiveSent, id).Scan(&sent); err != nil {
		return notified, queries, err
	}
	level := 0
	for _, l := range []int{10, 25, 50, 100, 250} {
		if count >= l {
			level = l
		}
	}
	if level > sent {
		if err := insert("milestone", fmt.Sprintf("milestone:%s:%d", uid, level), 0, 20, map[string]any{"level": level}); err != nil {
			return notified, queries, err
		}
	}

	// certification_expiry
	queries++
	rows, err := c.Query(ctx, naiveCerts, id, date)
	if err != nil {
		return notified, queries, err
	}
	type cert struct {
		id      [16]byte
		expires time.Time
	}
	certs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (cert, error) {
		var ce cert
		return ce, row.Scan(&ce.id, &ce.expires)
	})
	if err != nil {
		return notified, queries, err
	}
	for _, ce := range certs {
		left := int(ce.expires.Sub(date).Hours() / 24)
		rung := 0
		for _, r := range []int{30, 7, 1} {
			if left <= r {
				rung = r
			}
		}
		if rung == 0 {
			continue
		}
		key := fmt.Sprintf("certification_expiry:%s:%x:%s:%d", uid, ce.id, ce.expires.Format(time.DateOnly), rung)
		if err := insert("certification_expiry", key, 0, 30, map[string]any{"rung": rung}); err != nil {
			return notified, queries, err
		}
	}
	return notified, queries, nil
}
