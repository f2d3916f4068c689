package status

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
)

// Effect is one row of scheduler.effectiveness: one organisation, scenario and week. The counts of a group
// with fewer than 10 distinct mentors are nil (suppressed), and so are the differences.
type Effect struct {
	Organisation, Scenario string
	Week                   time.Time
	// Nudged, Reached7 and Reached14: the nudged group's decided nudges and those that reached the goal.
	Nudged, Reached7, Reached14 *int64
	// HeldOut, HeldReached7 and HeldReached14: the same for the holdout (the control group).
	HeldOut, HeldReached7, HeldReached14 *int64
	// Pending counts nudges whose window is still open (in neither group's counts).
	Pending int64
	// Diff14, Lower14 and Upper14: the difference of the 14-day shares in percentage points and its 95 %
	// Newcombe interval; Diff7 and its interval the same for 7 days.
	Diff7, Lower7, Upper7, Diff14, Lower14, Upper14 *float64
	// Note is the report's plain sentence: the verdict, or why there is none.
	Note string
}

// ReadEffectiveness reads scheduler.effectiveness(from, to, asOf) (asOf zero: today in the scheduler's
// time zone).
func ReadEffectiveness(ctx context.Context, conn *pgx.Conn, from, to, asOf time.Time) ([]Effect, error) {
	var as any
	if !asOf.IsZero() {
		as = asOf
	}
	rows, err := conn.Query(ctx, `
		select coalesce(organisation, organisation_id::text), scenario, week,
		       nudged, nudged_reached_7, nudged_reached_14, held_out, held_out_reached_7, held_out_reached_14, pending,
		       difference_7::float8, lower_7::float8, upper_7::float8,
		       difference_14::float8, lower_14::float8, upper_14::float8, note
		from scheduler.effectiveness($1, $2, $3)`, from, to, as)
	if err != nil {
		return nil, fmt.Errorf("reading scheduler.effectiveness: %w", err)
	}
	var out []Effect
	for rows.Next() {
		var e Effect
		if err := rows.Scan(&e.Organisation, &e.Scenario, &e.Week, &e.Nudged, &e.Reached7, &e.Reached14,
			&e.HeldOut, &e.HeldReached7, &e.HeldReached14, &e.Pending,
			&e.Diff7, &e.Lower7, &e.Upper7, &e.Diff14, &e.Lower14, &e.Upper14, &e.Note); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// RenderEffectiveness prints the report: one line per organisation, scenario and week, with the groups'
// shares reaching the goal in 7 and 14 days, the 14-day difference with its interval, and the note.
func RenderEffectiveness(w io.Writer, from, to time.Time, effects []Effect) error {
	fmt.Fprintf(w, "Do the nudges work? Nudges of %s to %s: goal reached within 7 / 14 days, nudged vs. held out\n",
		from.Format(time.DateOnly), to.Format(time.DateOnly))
	fmt.Fprintln(w, "(groups under 10 mentors are not shown; difference: 14 days, percentage points, 95 % Newcombe interval)")
	if len(effects) == 0 {
		fmt.Fprintln(w, "\nno nudges in this period")
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ORGANISATION\tSCENARIO\tWEEK\tNUDGED\t7 D\t14 D\tHELD OUT\t7 D\t14 D\tPENDING\tDIFFERENCE (95 % CI)\tNOTE")
	for _, e := range effects {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.Organisation, e.Scenario,
			e.Week.Format(time.DateOnly), count(e.Nudged), share(e.Reached7, e.Nudged), share(e.Reached14, e.Nudged),
			count(e.HeldOut), share(e.HeldReached7, e.HeldOut), share(e.HeldReached14, e.HeldOut), e.Pending,
			interval(e.Diff14, e.Lower14, e.Upper14), e.Note)
	}
	return tw.Flush()
}

// EffectivenessLine sums the report's shown groups into one line, for the quick start's last line: per
// scenario the nudged and held-out shares reaching the goal within 14 days where both groups are shown, then
// the scenarios without such a comparison.
func EffectivenessLine(effects []Effect) string {
	type sum struct{ n1, b1, n2, b2, rows int64 }
	var order []string
	sums := map[string]*sum{}
	for _, e := range effects {
		s := sums[e.Scenario]
		if s == nil {
			s = &sum{}
			sums[e.Scenario] = s
			order = append(order, e.Scenario)
		}
		if e.Nudged != nil && e.HeldOut != nil {
			s.n1 += *e.Nudged
			s.b1 += *e.Reached14
			s.n2 += *e.HeldOut
			s.b2 += *e.HeldReached14
			s.rows++
		}
	}
	if len(order) == 0 {
		return "effectiveness: no nudges yet"
	}
	var parts, waiting []string
	for _, sc := range order {
		s := sums[sc]
		if s.rows == 0 {
			waiting = append(waiting, sc)
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%% of %d nudged vs. %.0f%% of %d held out", sc,
			100*float64(s.b1)/float64(s.n1), s.n1, 100*float64(s.b2)/float64(s.n2), s.n2))
	}
	line := "effectiveness (goal within 14 days, groups of 10+ mentors): "
	if len(parts) > 0 {
		line += strings.Join(parts, "; ")
	} else {
		line += "no comparison yet"
	}
	if len(waiting) > 0 {
		line += "; not comparable yet (no holdout, windows still open or groups under 10): " + strings.Join(waiting, ", ")
	}
	return line
}

func count(n *int64) string {
	if n == nil {
		return "<10"
	}
	return fmt.Sprint(*n)
}

func share(hits, n *int64) string {
	if hits == nil || n == nil || *n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(*hits)/float64(*n))
}

func interval(d, lo, hi *float64) string {
	if d == nil || lo == nil || hi == nil {
		return "-"
	}
	return fmt.Sprintf("%+.1f (%+.1f to %+.1f)", *d, *lo, *hi)
}
