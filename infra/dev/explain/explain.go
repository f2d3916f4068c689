// Package explain answers a coordinator's first question, "why was (or wasn't) this mentor nudged?", from the
// scheduler's database: it reads scheduler.explain(mentor, date), which judges each scenario with the same SQL
// the evaluation runs, and renders the answer for a terminal (`go tool task explain -- <mentor> [date]`).
package explain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
)

// The SQL this package sends, in one place. A mentor is explained with EXECUTE on scheduler.explain and
// scheduler.explain_mentor alone (the function role has both; neither it nor this package reads
// scheduler_source): explain_mentor finds the mentors a part of a name names and a mentor's today. todaySQL,
// the scheduler's today, reads scheduler.ops_settings (the project's postgres role, as for `task status`);
// the command does not use it.
const (
	explainSQL     = `select scenario, outcome, reason, notifications, push from scheduler.explain($1::uuid, $2::date)`
	byNameSQL      = `select m.id::text, m.full_name from scheduler.explain_mentor($1) m`
	todaySQL       = `select (now() at time zone s.time_zone)::date from scheduler.ops_settings s`
	mentorTodaySQL = `select m.today from scheduler.explain_mentor($1) m`
)

// Notification is a notification the evaluation wrote or would write.
type Notification struct {
	IdempotencyKey string         `json:"idempotency_key"`
	Data           map[string]any `json:"data"`
	Priority       int            `json:"priority"`
	// Push is what delivery did with it (notified) or would do with it now (would_fire).
	Push string `json:"push"`
}

// Answer is one scenario's row of scheduler.explain.
type Answer struct {
	Scenario string
	// Outcome is notified or would_fire, or why not: not_active, disabled, below_threshold, later_nudge,
	// spacing, repeat_cap, cooldown, already_sent, held_out (the holdout: recorded, not notified), no_certification,
	// beyond_rungs, no_candidate
	// (docs/operations.md).
	Outcome string
	// Reason says the same in words, with the numbers.
	Reason string
	// Notifications are what the evaluation wrote (notified) or would write (would_fire).
	Notifications []Notification
	// Push joins the notifications' pushes with "; ".
	Push string
}

// Fires reports whether the scenario notified, or would notify, the mentor on the date.
func (a Answer) Fires() bool { return a.Outcome == "notified" || a.Outcome == "would_fire" }

// Result is the answer for one mentor and date.
type Result struct {
	Mentor  string
	Date    time.Time
	Answers []Answer
}

// Query is the part of a pgx connection or pool that Read uses.
type Query interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Resolve turns a mentor argument into a mentor id: an id as it is, otherwise a part of a full name that must
// match exactly one mentor.
func Resolve(ctx context.Context, q Query, mentor string) (string, error) {
	mentor = strings.TrimSpace(mentor)
	if uuidPattern.MatchString(mentor) {
		return strings.ToLower(mentor), nil
	}
	if mentor == "" {
		return "", errors.New("a mentor id or name is required")
	}
	rows, err := q.Query(ctx, byNameSQL, mentor)
	if err != nil {
		return "", fmt.Errorf("looking up mentor %q: %w", mentor, err)
	}
	type hit struct{ ID, Name string }
	hits, err := pgx.CollectRows(rows, pgx.RowToStructByPos[hit])
	if err != nil {
		return "", fmt.Errorf("looking up mentor %q: %w", mentor, err)
	}
	switch len(hits) {
	case 0:
		return "", fmt.Errorf("no mentor's name contains %q", mentor)
	case 1:
		return hits[0].ID, nil
	}
	var b strings.Builder
	for i, h := range hits {
		if i == 10 {
			b.WriteString("\n  ...")
			break
		}
		fmt.Fprintf(&b, "\n  %s  %s", h.ID, h.Name)
	}
	return "", fmt.Errorf("%q matches several mentors; give the id:%s", mentor, b.String())
}

// Today is the scheduler's evaluation date for now (scheduler.ops_settings.time_zone).
func Today(ctx context.Context, q Query) (time.Time, error) {
	var d time.Time
	if err := q.QueryRow(ctx, todaySQL).Scan(&d); err != nil {
		return time.Time{}, fmt.Errorf("reading today's date: %w", err)
	}
	return d, nil
}

// MentorToday is the evaluation date for now of a mentor (an id): today in the time zone of the mentor's
// organisation, which the hourly job evaluates at its own send hour; Today's date when the zone is unknown,
// or when the source has no such mentor (Read then says so).
func MentorToday(ctx context.Context, q Query, mentor string) (time.Time, error) {
	var d time.Time
	if err := q.QueryRow(ctx, mentorTodaySQL, mentor).Scan(&d); err != nil {
		return time.Time{}, fmt.Errorf("reading the mentor's today: %w", err)
	}
	return d, nil
}

// Read asks scheduler.explain about one mentor (an id) and date.
func Read(ctx context.Context, q Query, mentor string, date time.Time) (Result, error) {
	r := Result{Mentor: mentor, Date: date}
	rows, err := q.Query(ctx, explainSQL, mentor, date.Format(time.DateOnly))
	if err != nil {
		return r, err
	}
	defer rows.Close()
	for rows.Next() {
		var a Answer
		var notes []byte
		var push *string
		if err := rows.Scan(&a.Scenario, &a.Outcome, &a.Reason, &notes, &push); err != nil {
			return r, err
		}
		if notes != nil {
			if err := json.Unmarshal(notes, &a.Notifications); err != nil {
				return r, fmt.Errorf("scheduler.explain: notifications of %s: %w", a.Scenario, err)
			}
		}
		if push != nil {
			a.Push = *push
		}
		r.Answers = append(r.Answers, a)
	}
	return r, rows.Err()
}

// Explain is what `task explain` does: it resolves a mentor id or a part of a name (Resolve) and, for a zero
// date, takes the mentor's today (MentorToday), then reads the answer (Read). It needs EXECUTE on
// scheduler.explain_mentor and scheduler.explain only, which the function role has.
func Explain(ctx context.Context, q Query, mentor string, date time.Time) (Result, error) {
	id, err := Resolve(ctx, q, mentor)
	if err != nil {
		return Result{}, err
	}
	if date.IsZero() {
		if date, err = MentorToday(ctx, q, id); err != nil {
			return Result{}, err
		}
	}
	return Read(ctx, q, id, date)
}

// Render prints the answer: one block per scenario, its outcome, the reason and, for a notification, its key
// and push.
func (r Result) Render(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Mentor %s on %s\n\n", r.Mentor, r.Date.Format(time.DateOnly))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, a := range r.Answers {
		verdict := "no: " + strings.ReplaceAll(a.Outcome, "_", " ")
		switch a.Outcome {
		case "notified":
			verdict = "yes: notified"
		case "would_fire":
			verdict = "yes: would fire"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Scenario, verdict, a.Reason)
		for _, n := range a.Notifications {
			fmt.Fprintf(tw, "\t\tnotification %s\n\t\t  push: %s\n", n.IdempotencyKey, n.Push)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}
