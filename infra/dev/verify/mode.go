package verify

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// checkEvaluationMode says how the daily run evaluates: incremental (the change feed is installed and the
// state reconciled) or full, per scenario, with the reason (scheduler.evaluation_modes). Informational: both
// modes are correct, so it fails only when the database cannot say.
func checkEvaluationMode(ctx context.Context, t Target) Result {
	r := Result{ID: "15", Title: "the daily run's evaluation mode (incremental with the change feed, full without)"}
	return withConn(ctx, t, r, func(c *pgx.Conn) Result { return evaluationModeResult(ctx, c, r) })
}

// ModeLine is one scenario's evaluation mode as verify and status print it.
type ModeLine struct {
	Scenario, Mode, Reason string
	Due, Waiting           int64
}

// ReadModes reads scheduler.evaluation_modes() for today's whole-project run; nil in a database migrated
// before the incremental run existed.
func ReadModes(ctx context.Context, q querier) ([]ModeLine, error) {
	var has bool
	if err := q.QueryRow(ctx, `select to_regprocedure('scheduler.evaluation_modes(date)') is not null`).Scan(&has); err != nil || !has {
		return nil, err
	}
	rows, err := q.Query(ctx, `select scenario, mode, reason, due_mentors, waiting_changes from scheduler.evaluation_modes()`)
	if err != nil {
		return nil, fmt.Errorf("reading scheduler.evaluation_modes(): %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[ModeLine])
}

// SummariseModes is the one line verify and status print: the mode, or each scenario's where they differ.
func SummariseModes(ms []ModeLine) string {
	if len(ms) == 0 {
		return "full every day (this database predates the incremental run)"
	}
	var parts []string
	same := true
	for _, m := range ms {
		same = same && m.Mode == ms[0].Mode && m.Reason == ms[0].Reason
		parts = append(parts, fmt.Sprintf("%s %s (%s)", m.Scenario, m.Mode, m.Reason))
	}
	tail := fmt.Sprintf("; %d mentors due by today, %d changes waiting in the feed", ms[0].Due, ms[0].Waiting)
	switch {
	case same && ms[0].Reason == "no_feed":
		return "full every day: the change feed is not installed (docs/source-contract.md, The change feed)"
	case same:
		return fmt.Sprintf("%s (%s)%s", ms[0].Mode, ms[0].Reason, tail)
	}
	return strings.Join(parts, ", ") + tail
}

func evaluationModeResult(ctx context.Context, q querier, r Result) Result {
	ms, err := ReadModes(ctx, q)
	if err != nil {
		return r.fail("%v", err)
	}
	// A feed installed for some writes and not others is no feed to the scheduler (it runs full) while the
	// triggers that are there cost the app's writes: a mapping migration that stopped half-way.
	var missing []string
	if len(ms) > 0 {
		rows, err := q.Query(ctx, `select c.source_view || ' (' || coalesce(c.base_table, 'no table') || '): ' || array_to_string(c.missing_events, ', ')
			from scheduler.change_feed_coverage() c
			where not scheduler.change_feed_installed() and cardinality(c.missing_events) > 0
			  and (select sum(cardinality(x.missing_events)) from scheduler.change_feed_coverage() x) < 8`)
		if err != nil {
			return r.fail("reading scheduler.change_feed_coverage(): %v", err)
		}
		if missing, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return r.fail("reading scheduler.change_feed_coverage(): %v", err)
		}
	}
	var lines []string
	for _, m := range ms {
		lines = append(lines, fmt.Sprintf("%s | %s | %s", m.Scenario, m.Mode, m.Reason))
	}
	r.Evidence = "scenario | mode | reason\n" + strings.Join(lines, "\n")
	if len(missing) > 0 {
		return r.fail("the change feed is partly installed: no trigger notes %s; the run stays full while the other triggers cost "+
			"the app's writes (docs/source-contract.md, The change feed)", strings.Join(missing, "; "))
	}
	return r.pass("%s", SummariseModes(ms))
}
