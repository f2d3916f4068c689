package bench

import (
	"context"
	"time"
)

// WriteCost is what the change feed's triggers (supabase/reference/source_mapping.sql) cost the app's own
// writes: inserts into public.activities without and with them, side by side on the same table.
type WriteCost struct {
	// SingleRows single-row inserts, each its own transaction from one connection (as an app registering
	// activities one at a time); BulkRows in one insert statement (an import or a backfill).
	SingleRows int `json:"single_rows"`
	BulkRows   int `json:"bulk_rows"`
	// Mentors the inserted activities are spread over (every active mentor, up to BulkRows).
	Mentors int `json:"mentors"`
	// Times of the loop and of the bulk insert; warm-up repetitions are listed apart and not counted.
	SingleWithout Dist      `json:"single_without_feed"`
	SingleWith    Dist      `json:"single_with_feed"`
	BulkWithout   Dist      `json:"bulk_without_feed"`
	BulkWith      Dist      `json:"bulk_with_feed"`
	Warmup        []float64 `json:"warmup_ms,omitempty"` // warm-up repetitions: the four times of each, in the order above
	// Ratios of medians, with / without: 1.20 is 20 % slower with the feed.
	SingleRatio float64 `json:"ratio_single_with_over_without"`
	BulkRatio   float64 `json:"ratio_bulk_with_over_without"`
}

// targetFeedOverhead is the most the feed may add to the activity inserts.
const targetFeedOverhead = 1.20

// runWriteCost measures the activity inserts without and with the feed's triggers, interleaved, after
// warm-up repetitions, and leaves the table, the triggers and the feed as it found them (the inserted rows
// deleted, the table vacuumed, the feed emptied).
func (b *sizeBench) runWriteCost(ctx context.Context, logf func(string, ...any)) (*WriteCost, error) {
	single, bulk := b.cfg.WriteRows, b.cfg.WriteBulk
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	// As an app's session commits: waiting for its WAL to be written (the benchmark's server has
	// synchronous_commit off; fsync stays off, so no variant waits for the disk).
	if _, err := conn.Exec(ctx, `set synchronous_commit = on`); err != nil {
		return nil, err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `reset synchronous_commit`) //nolint:errcheck
	defer b.setFeed(context.WithoutCancel(ctx), true)                       //nolint:errcheck
	var mentors []string
	if err := conn.QueryRow(ctx, `select array_agg(id::text order by md5(id::text)) from
		(select id from public.peer_mentors where status = 'active' limit $1) m`, bulk).Scan(&mentors); err != nil {
		return nil, err
	}
	wc := &WriteCost{SingleRows: single, BulkRows: bulk, Mentors: len(mentors)}

	// One repetition of one variant: the loop, then the bulk insert, each on an empty feed and followed by a
	// clean-up that is not timed. Dates: recent ones, every tenth a backfill up to two years back.
	var lastID int64
	if err := conn.QueryRow(ctx, `select coalesce(max(id), 0) from public.activities`).Scan(&lastID); err != nil {
		return nil, err
	}
	cleanUp := func() error {
		_, err := conn.Exec(ctx, `delete from public.activities where id > $1`, lastID)
		if err == nil {
			_, err = conn.Exec(ctx, `truncate scheduler.mentor_changes`)
		}
		if err == nil {
			_, err = conn.Exec(ctx, `vacuum public.activities`)
		}
		return err
	}
	one := func(feed bool) (loop, all time.Duration, err error) {
		if err := b.setFeed(ctx, feed); err != nil {
			return 0, 0, err
		}
		if err := cleanUp(); err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		for i := range single {
			back := i % 30
			if i%10 == 0 {
				back = (i * 37) % 730
			}
			if _, err := conn.Exec(ctx, `insert into public.activities (user_id, activity_date) values ($1, $2)`,
				mentors[i%len(mentors)], evalDay.AddDate(0, 0, -back)); err != nil {
				return 0, 0, err
			}
		}
		loop = time.Since(t0)
		if err := cleanUp(); err != nil {
			return 0, 0, err
		}
		t0 = time.Now()
		if _, err := conn.Exec(ctx, `insert into public.activities (user_id, activity_date)
			select ($1::uuid[])[1 + g % cardinality($1::uuid[])],
			       $2::date - case when g % 10 = 0 then (g * 37) % 730 else g % 30 end
			from generate_series(0, $3 - 1) g`, mentors, evalDay, bulk); err != nil {
			return 0, 0, err
		}
		all = time.Since(t0)
		return loop, all, cleanUp()
	}
	pair := func() ([4]time.Duration, error) {
		var r [4]time.Duration
		var err error
		if r[0], r[2], err = one(false); err != nil {
			return r, err
		}
		r[1], r[3], err = one(true)
		return r, err
	}

	// Warm up until the bulk inserts settle (the loop's times are short and follow them).
	_, err = settle(b.cfg.MaxWarmup, func(i int) ([]time.Duration, error) {
		r, err := pair()
		logf("feed write cost, warm-up %d: loop %v / %v, bulk %v / %v (without / with)", i+1,
			r[0].Round(time.Millisecond), r[1].Round(time.Millisecond), r[2].Round(time.Millisecond), r[3].Round(time.Millisecond))
		for _, d := range r {
			wc.Warmup = append(wc.Warmup, ms64(d))
		}
		return []time.Duration{r[2], r[3]}, err
	})
	if err != nil {
		return nil, err
	}
	var sw, sf, bw, bf []time.Duration
	for rep := range b.cfg.Reps {
		r, err := pair()
		if err != nil {
			return nil, err
		}
		sw, sf, bw, bf = append(sw, r[0]), append(sf, r[1]), append(bw, r[2]), append(bf, r[3])
		logf("feed write cost, rep %d: loop %v / %v, bulk %v / %v (without / with)", rep+1,
			r[0].Round(time.Millisecond), r[1].Round(time.Millisecond), r[2].Round(time.Millisecond), r[3].Round(time.Millisecond))
	}
	wc.SingleWithout, wc.SingleWith, wc.BulkWithout, wc.BulkWith = distOf(sw), distOf(sf), distOf(bw), distOf(bf)
	wc.SingleRatio = ratio(wc.SingleWith.Median, wc.SingleWithout.Median)
	wc.BulkRatio = ratio(wc.BulkWith.Median, wc.BulkWithout.Median)
	if _, err := conn.Exec(ctx, `analyze public.activities`); err != nil {
		return nil, err
	}
	return wc, nil
}
