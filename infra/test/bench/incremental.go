package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/engine"
)

// Incremental compares, on the same day after the same changes, the daily run three ways: the full
// evaluation without the change feed (what every project ran before the incremental run, and what one
// without the feed still runs), the full evaluation with the feed (a reconciliation: the evaluation plus the
// upkeep of the per-mentor state), and the incremental run. Delivery is off in all three: what differs is the
// evaluation. Each repetition starts from the same state (the previous day's, restored) and the same changes
// in the feed; the three must create the same notifications, or the benchmark fails.
type Incremental struct {
	// ChangedMentors got an activity registered yesterday (every 22nd active mentor, about 4.6 %).
	ChangedMentors int64 `json:"changed_mentors"`
	// StateRows is the per-mentor state's size after the previous day's full evaluation.
	StateRows int64 `json:"state_rows"`

	Full        Dist `json:"full_no_feed"`
	Reconcile   Dist `json:"full_with_state"`
	Incremental Dist `json:"incremental"`
	// Evaluated: mentor evaluations summed over the scenarios, per run; Notified: the day's notifications.
	FullEvaluated        int `json:"full_evaluated"`
	IncrementalEvaluated int `json:"incremental_evaluated"`
	Notified             int `json:"notified"`
	// Warmup: the warm-up repetitions' times in ms (full, with state, incremental), not counted.
	Warmup [][3]float64 `json:"warmup_ms,omitempty"`

	FullOverIncremental      float64 `json:"ratio_full_over_incremental"`
	ReconcileOverIncremental float64 `json:"ratio_full_with_state_over_incremental"`
}

// setFeed enables or disables the change feed's triggers on the app's tables (those whose function calls
// scheduler.note_mentor_change): disabled, the scheduler sees no feed and evaluates in full, and the app's
// writes cost what they cost without it. Both the incremental comparison and the write cost write activities
// through the feed: a mapping without a feed trigger on public.activities is an error.
func (b *sizeBench) setFeed(ctx context.Context, on bool) error {
	verb := "disable"
	if on {
		verb = "enable"
	}
	rows, err := b.pool.Query(ctx, `select format('alter table %s %s trigger %I', tg.tgrelid::regclass, $1::text, tg.tgname),
		       tg.tgrelid = 'public.activities'::regclass
		from pg_trigger tg join pg_proc p on p.oid = tg.tgfoid
		where not tg.tgisinternal and p.prosrc like '%scheduler.note_mentor_change%'`, verb)
	if err != nil {
		return err
	}
	type trigger struct {
		Alter        string
		OnActivities bool
	}
	triggers, err := pgx.CollectRows(rows, pgx.RowToStructByPos[trigger])
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(triggers, func(t trigger) bool { return t.OnActivities }) {
		return fmt.Errorf("public.activities has no change feed triggers (supabase/reference/source_mapping.sql)")
	}
	for _, t := range triggers {
		if _, err := b.pool.Exec(ctx, t.Alter); err != nil {
			return err
		}
	}
	return nil
}

// runIncremental measures Incremental. It leaves the app's tables as it found them (the changes it makes
// are deleted), the feed's triggers enabled, and the state of the last incremental run.
func (b *sizeBench) runIncremental(ctx context.Context, dbURL string, prev, day time.Time,
	logf func(string, ...any)) (*Incremental, error) {
	res := &Incremental{}
	noDelivery := func(o *engine.Options) { o.Sender, o.Delivery.Off = nil, true }
	prevEng, err := b.engineFor(ctx, dbURL, prev, b.cfg.Budget, 0, noDelivery)
	if err != nil {
		return nil, err
	}
	eng, err := b.engineFor(ctx, dbURL, day, b.cfg.Budget, 0, noDelivery)
	if err != nil {
		return nil, err
	}
	var maxActivity int64
	if err := b.pool.QueryRow(ctx, `select coalesce(max(id), 0) from public.activities`).Scan(&maxActivity); err != nil {
		return nil, err
	}
	defer func() {
		// The dataset is kept between runs: take the changes out again, unnoted, and the snapshots.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		if err := b.setFeed(ctx, false); err == nil {
			_, _ = b.pool.Exec(ctx, `delete from public.activities where id > $1`, maxActivity)
			_ = b.setFeed(ctx, true)
		}
		_, _ = b.pool.Exec(ctx, `delete from scheduler.mentor_changes; drop table if exists public.bench_state, public.bench_changes`)
		_ = b.reset(ctx, day)
	}()

	// The previous day's full evaluation with the feed on: the state a daily run starts from.
	if err := b.setFeed(ctx, true); err != nil {
		return nil, err
	}
	// From scratch: a state left by an earlier benchmark on this database was computed for this very day,
	// with notifications that reset() has deleted since (deleting notifications by hand makes a state stale;
	// nothing in the scheduler does).
	if _, err := b.pool.Exec(ctx, `truncate scheduler.mentor_state; delete from scheduler.state_reconciliations;
		delete from scheduler.mentor_changes; select scheduler.reconcile()`); err != nil {
		return nil, err
	}
	if _, err := b.pool.Exec(ctx, `delete from scheduler.checkpoints where evaluation_date = $1`, prev); err != nil {
		return nil, err
	}
	iv, err := untilDone(ctx, inProcess(prevEng, prev))
	if err != nil {
		return nil, fmt.Errorf("the previous day's full evaluation: %w", err)
	}
	logf("incremental: the previous day's full evaluation with the state: %v", iv.took.Round(time.Millisecond))
	// The day's changes, through the app's triggers: an activity registered yesterday for every 22nd mentor.
	tag, err := b.pool.Exec(ctx, `insert into public.activities (user_id, activity_date)
		select m.id, $1::date from public.peer_mentors m
		where m.status = 'active' and abs(hashtext(m.id::text)) % 22 = 0`, prev)
	if err != nil {
		return nil, err
	}
	res.ChangedMentors = tag.RowsAffected()
	if _, err := b.pool.Exec(ctx, `drop table if exists public.bench_state, public.bench_changes;
		create table public.bench_state as select user_id, inactivity_due, milestone_due, certification_due, evaluated_on from scheduler.mentor_state;
		create table public.bench_changes as select * from scheduler.mentor_changes`); err != nil {
		return nil, err
	}
	if err := b.pool.QueryRow(ctx, `select count(*) from public.bench_state`).Scan(&res.StateRows); err != nil {
		return nil, err
	}
	restore := func() error {
		if err := b.reset(ctx, day); err != nil {
			return err
		}
		_, err := b.pool.Exec(ctx, `truncate scheduler.mentor_state;
			insert into scheduler.mentor_state (user_id, inactivity_due, milestone_due, certification_due, evaluated_on)
			  select * from public.bench_state;
			delete from scheduler.mentor_changes;
			insert into scheduler.mentor_changes select * from public.bench_changes`)
		if err == nil {
			_, err = b.pool.Exec(ctx, `vacuum (analyze) scheduler.mentor_state, scheduler.mentor_changes`)
		}
		return err
	}
	type outcome struct {
		iv        invocation
		evaluated int
		notified  string
		keys      []string
	}
	one := func(feed bool, mode string) (outcome, error) {
		var o outcome
		if err := restore(); err != nil {
			return o, err
		}
		if err := b.setFeed(ctx, feed); err != nil {
			return o, err
		}
		iv, err := untilDone(ctx, inProcess(eng, day))
		if err != nil {
			return o, err
		}
		o.iv = iv
		for _, r := range iv.reports {
			for _, s := range r.Scenarios {
				o.evaluated += s.Evaluated
				if s.Evaluated > 0 && s.Mode != mode {
					return o, fmt.Errorf("%s ran %s (%s), want %s", s.Scenario, s.Mode, s.ModeReason, mode)
				}
			}
		}
		err = b.pool.QueryRow(ctx, `select count(*) || ' ' || coalesce(md5(string_agg(idempotency_key, ',' order by idempotency_key)), '')
			from public.notifications where evaluation_date = $1`, day).Scan(&o.notified)
		if err == nil {
			rows, qerr := b.pool.Query(ctx, `select idempotency_key from public.notifications where evaluation_date = $1`, day)
			if qerr != nil {
				return o, qerr
			}
			o.keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		return o, err
	}
	var fullT, recT, incT []time.Duration
	repetition := func() (ts [3]time.Duration, err error) {
		full, err := one(false, engine.ModeFull) // no feed: today's evaluation; it also voids the reconciliation
		if err != nil {
			return ts, fmt.Errorf("full run without the feed: %w", err)
		}
		rec, err := one(true, engine.ModeFull) // never reconciled: full, keeping the state
		if err != nil {
			return ts, fmt.Errorf("full run with the state: %w", err)
		}
		inc, err := one(true, engine.ModeIncremental)
		if err != nil {
			return ts, fmt.Errorf("incremental run: %w", err)
		}
		if full.notified != rec.notified || full.notified != inc.notified {
			return ts, fmt.Errorf("the runs created different notifications (count and digest): full %s, with state %s, incremental %s; only in the full run: %v; only in the incremental run: %v",
				full.notified, rec.notified, inc.notified, firstMissing(full.keys, inc.keys), firstMissing(inc.keys, full.keys))
		}
		res.FullEvaluated, res.IncrementalEvaluated, res.Notified = full.evaluated, inc.evaluated, full.iv.notified()
		return [3]time.Duration{full.iv.took, rec.iv.took, inc.iv.took}, nil
	}
	if _, err := settle(b.cfg.MaxWarmup, func(i int) ([]time.Duration, error) {
		ts, err := repetition()
		res.Warmup = append(res.Warmup, [3]float64{ms64(ts[0]), ms64(ts[1]), ms64(ts[2])})
		logf("incremental warm-up %d: full %v, with state %v, incremental %v", i+1, ts[0].Round(time.Millisecond),
			ts[1].Round(time.Millisecond), ts[2].Round(time.Millisecond))
		return ts[:], err
	}); err != nil {
		return nil, err
	}
	for rep := range b.cfg.Reps {
		ts, err := repetition()
		if err != nil {
			return nil, err
		}
		fullT, recT, incT = append(fullT, ts[0]), append(recT, ts[1]), append(incT, ts[2])
		logf("incremental rep %d: full %v, with state %v, incremental %v (evaluated %d against %d)", rep+1,
			ts[0].Round(time.Millisecond), ts[1].Round(time.Millisecond), ts[2].Round(time.Millisecond),
			res.IncrementalEvaluated, res.FullEvaluated)
	}
	res.Full, res.Reconcile, res.Incremental = distOf(fullT), distOf(recT), distOf(incT)
	res.FullOverIncremental = ratio(res.Full.Median, res.Incremental.Median)
	res.ReconcileOverIncremental = ratio(res.Reconcile.Median, res.Incremental.Median)
	return res, nil
}

// firstMissing lists up to five of a's keys that b lacks.
func firstMissing(a, b []string) []string {
	in := map[string]bool{}
	for _, k := range b {
		in[k] = true
	}
	var out []string
	for _, k := range a {
		if !in[k] && len(out) < 5 {
			out = append(out, k)
		}
	}
	return out
}
