package verify

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// writesSQL counts what a call could write: runs (a dry run records one, marked dry_run), notifications,
// pushes marked sent, and checkpoints. Checks 2 and 3 compare it before and after their call.
const writesSQL = `select
  (select count(*) from scheduler.runs where not dry_run),
  (select count(*) from scheduler.runs),
  (select count(*) from public.notifications),
  (select count(*) from public.notifications where status = 'sent'),
  (select count(*) from scheduler.checkpoints)`

// writes is what writesSQL counts.
type writes struct{ realRuns, runs, notifications, sent, checkpoints int64 }

func (w writes) String() string {
	return fmt.Sprintf("runs %d (%d not dry runs), notifications %d (%d sent), checkpoints %d",
		w.runs, w.realRuns, w.notifications, w.sent, w.checkpoints)
}

// writes reads the counts from the target's database; ok is false when they cannot be read (no database
// given, or migrations not applied): the checks then say so instead of claiming nothing was written.
func (t Target) writes(ctx context.Context) (w writes, ok bool) {
	if t.DatabaseURL == "" {
		return w, false
	}
	conn, err := pgx.Connect(ctx, t.DatabaseURL)
	if err != nil {
		return w, false
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = conn.QueryRow(ctx, writesSQL).Scan(&w.realRuns, &w.runs, &w.notifications, &w.sent, &w.checkpoints)
	return w, err == nil
}

// nothingWritten adds to a passing call's result that the database's counts did not change, except a dry
// run's own history row when allowed (check 2), or fails it. what names what was compared.
func (t Target) nothingWritten(ctx context.Context, r Result, before writes, watched bool, what string) Result {
	if r.Outcome != Pass {
		return r
	}
	if !watched {
		r.Detail += "; what it wrote was not compared (the database's counts could not be read)"
		return r
	}
	after, ok := t.writes(ctx)
	if !ok {
		r.Detail += "; what it wrote was not compared (the database's counts could not be read after the call)"
		return r
	}
	r.Evidence += fmt.Sprintf("\nbefore: %s\nafter:  %s", before, after)
	dryRunRow := r.ID == "2" // a dry run records its run, marked dry_run
	changed := after.realRuns != before.realRuns || after.notifications != before.notifications ||
		after.sent != before.sent || after.checkpoints != before.checkpoints ||
		(!dryRunRow && after.runs != before.runs)
	if changed {
		return r.fail("the call wrote to the database (%s → %s); a concurrent run of the project would too: run it again when none is due",
			before, after)
	}
	if dryRunRow {
		r.Detail += fmt.Sprintf("; %s unchanged (only the dry run's own history row in scheduler.runs)", what)
	} else {
		r.Detail += fmt.Sprintf("; %s unchanged", what)
	}
	return r
}
