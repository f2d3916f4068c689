package benchdata

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Stats says what Load wrote and how fast.
type Stats struct {
	Organisations, Mentors, ActiveMentors, Activities, Certifications, DeviceTokens int64
	Took                                                                            time.Duration
}

// Rows is the total number of rows written.
func (s Stats) Rows() int64 {
	return s.Organisations + s.Mentors + s.Activities + s.Certifications + s.DeviceTokens
}

// loadedTables are the app tables Load fills; they must be empty.
var loadedTables = []string{"public.peer_mentors", "public.activities", "public.certifications", "public.device_tokens"}

// Load writes the dataset of spec into the (migrated, empty) database of conn. Progress lines go to
// progress (nil: none), rewritten in place with the rows written and the load rate.
func Load(ctx context.Context, conn *pgx.Conn, spec Spec, progress io.Writer) (Stats, error) {
	started := time.Now()
	var st Stats
	var existing int64
	if err := conn.QueryRow(ctx, `select count(*) from public.organisations`).Scan(&existing); err != nil {
		return st, err
	}
	if existing > 0 {
		return st, fmt.Errorf("the database already holds %d organisations; load into an empty, migrated database", existing)
	}
	g := newGenerator(spec)
	p := newProgress(progress, spec.Mentors)
	defer p.stop()

	tx, err := conn.Begin(ctx)
	if err != nil {
		return st, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `set local synchronous_commit = off; set local maintenance_work_mem = '256MB'`); err != nil {
		return st, err
	}
	restore, err := dropIndexes(ctx, tx)
	if err != nil {
		return st, err
	}
	resume, err := pauseTriggers(ctx, tx)
	if err != nil {
		return st, err
	}

	copyRows := func(table string, cols []string, next func() ([]any, bool)) (int64, error) {
		p.phase(table)
		return tx.CopyFrom(ctx, pgx.Identifier{"public", table}, cols, &source{next: next, p: p})
	}

	i := 0
	if st.Organisations, err = copyRows("organisations", []string{"id", "name"}, func() ([]any, bool) {
		if i == len(g.orgs) {
			return nil, false
		}
		i++
		return []any{g.orgs[i-1], fmt.Sprintf("Forening %d", i)}, true
	}); err != nil {
		return st, err
	}

	i = 0
	if st.Mentors, err = copyRows("peer_mentors", []string{"id", "organisation_id", "full_name", "status", "locale", "joined_on"},
		func() ([]any, bool) {
			if i == len(g.mentors) {
				return nil, false
			}
			m := &g.mentors[i]
			i++
			p.mentor()
			if m.status == "active" {
				st.ActiveMentors++
			}
			return []any{m.id, g.orgs[m.org], fmt.Sprintf("Mentor %d", i), m.status, m.locale, m.joinedOn}, true
		}); err != nil {
		return st, err
	}

	// Activities: one mentor's dates at a time.
	i = 0
	var days []int
	if st.Activities, err = copyRows("activities", []string{"user_id", "activity_date"}, func() ([]any, bool) {
		for len(days) == 0 {
			if i == len(g.mentors) {
				return nil, false
			}
			days = g.mentors[i].activityDays(days[:0])
			i++
			p.mentor()
		}
		d := days[len(days)-1]
		days = days[:len(days)-1]
		return []any{g.mentors[i-1].id, Today.AddDate(0, 0, -d)}, true
	}); err != nil {
		return st, err
	}

	i = 0
	var certs []int
	if st.Certifications, err = copyRows("certifications", []string{"id", "user_id", "name", "expires_at"}, func() ([]any, bool) {
		for len(certs) == 0 {
			if i == len(g.mentors) {
				return nil, false
			}
			certs = g.mentors[i].certifications()
			i++
			p.mentor()
		}
		m := &g.mentors[i-1]
		off := certs[len(certs)-1]
		certs = certs[:len(certs)-1]
		id := m.id
		id[0] ^= byte(len(certs) + 1) // a distinct, deterministic id per certification
		id[15] ^= 0x5a
		return []any{id, m.id, [...]string{"Likepersonkurs", "Førstehjelp"}[len(certs)%2], Today.AddDate(0, 0, off)}, true
	}); err != nil {
		return st, err
	}

	i = 0
	left := 0
	if st.DeviceTokens, err = copyRows("device_tokens", []string{"user_id", "token", "platform"}, func() ([]any, bool) {
		for left == 0 {
			if i == len(g.mentors) {
				return nil, false
			}
			left = g.mentors[i].tokens()
			i++
			p.mentor()
		}
		left--
		m := &g.mentors[i-1]
		return []any{m.id, tokenText(m.id, left), [...]string{"android", "ios", "web"}[int(m.seed>>8)%3]}, true
	}); err != nil {
		return st, err
	}

	p.phase("indexes")
	if err := restore(); err != nil {
		return st, err
	}
	if err := resume(); err != nil {
		return st, err
	}
	if err := tx.Commit(ctx); err != nil {
		return st, err
	}
	// VACUUM sets the visibility map (index-only scans need it); ANALYZE gives the planner statistics.
	p.phase("vacuum analyze")
	if _, err := conn.Exec(ctx, `vacuum (analyze) public.organisations, public.peer_mentors, public.activities, public.certifications, public.device_tokens`); err != nil {
		return st, err
	}
	st.Took = time.Since(started)
	return st, nil
}

// dropIndexes drops the foreign keys and the indexes that back no constraint on the loaded tables, and
// returns a function that recreates them with their original definitions.
func dropIndexes(ctx context.Context, tx pgx.Tx) (func() error, error) {
	type def struct{ drop, create string }
	rows, err := tx.Query(ctx, `
		select format('alter table %s drop constraint %I', conrelid::regclass, conname),
		       format('alter table %s add constraint %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
		from pg_constraint
		where contype = 'f' and conrelid = any($1::regclass[])
		union all
		select format('drop index %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
		from pg_index i
		where i.indrelid = any($1::regclass[])
		  and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)`, loadedTables)
	if err != nil {
		return nil, err
	}
	defs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (def, error) {
		var d def
		return d, r.Scan(&d.drop, &d.create)
	})
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		if _, err := tx.Exec(ctx, d.drop); err != nil {
			return nil, fmt.Errorf("%s: %w", d.drop, err)
		}
	}
	return func() error {
		for _, d := range defs {
			if _, err := tx.Exec(ctx, d.create); err != nil {
				return fmt.Errorf("%s: %w", d.create, err)
			}
		}
		return nil
	}, nil
}

// pauseTriggers disables the enabled user triggers of the loaded tables (the change feed's, when the mapping
// installs it) and returns a function that enables them again, in the load's transaction. A loaded dataset
// is a starting state, not a change: the first run evaluates every mentor anyway, and with the triggers on the
// one COPY of the 1M dataset's 19 million activities would be one statement's transition table.
func pauseTriggers(ctx context.Context, tx pgx.Tx) (func() error, error) {
	rows, err := tx.Query(ctx, `
		select format('alter table %s disable trigger %I', tgrelid::regclass, tgname),
		       format('alter table %s enable trigger %I', tgrelid::regclass, tgname)
		from pg_trigger
		where tgrelid = any($1::regclass[]) and not tgisinternal and tgenabled <> 'D'`, loadedTables)
	if err != nil {
		return nil, err
	}
	type pair struct{ disable, enable string }
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pair, error) {
		var p pair
		return p, r.Scan(&p.disable, &p.enable)
	})
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if _, err := tx.Exec(ctx, p.disable); err != nil {
			return nil, fmt.Errorf("%s: %w", p.disable, err)
		}
	}
	return func() error {
		for _, p := range ps {
			if _, err := tx.Exec(ctx, p.enable); err != nil {
				return fmt.Errorf("%s: %w", p.enable, err)
			}
		}
		return nil
	}, nil
}

// source adapts a row function to pgx.CopyFromSource and counts rows for the progress line.
type source struct {
	next func() ([]any, bool)
	row  []any
	p    *progress
}

func (s *source) Next() bool {
	var ok bool
	s.row, ok = s.next()
	if ok {
		s.p.rows.Add(1)
	}
	return ok
}
func (s *source) Values() ([]any, error) { return s.row, nil }
func (s *source) Err() error             { return nil }

// progress rewrites one line on w every 250 ms: phase, mentors done, rows written and rows per second.
type progress struct {
	w       io.Writer
	total   int
	rows    atomic.Int64
	mentors atomic.Int64
	name    atomic.Value
	start   time.Time
	done    chan struct{}
	exited  chan struct{}
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now(), done: make(chan struct{}), exited: make(chan struct{})}
	p.name.Store("")
	if w == nil {
		close(p.exited)
		return p
	}
	go func() {
		defer close(p.exited)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				p.print("\n")
				return
			case <-t.C:
				p.print("")
			}
		}
	}()
	return p
}

func (p *progress) phase(name string) { p.mentors.Store(0); p.name.Store(name) }
func (p *progress) mentor()           { p.mentors.Add(1) }

func (p *progress) print(end string) {
	el := time.Since(p.start).Seconds()
	rows := p.rows.Load()
	pct := 100 * float64(p.mentors.Load()) / float64(max(p.total, 1))
	fmt.Fprintf(p.w, "\r%-16s %5.1f%% of mentors  %11d rows  %8.0f rows/s  %6.1fs\x1b[K%s",
		p.name.Load().(string), pct, rows, float64(rows)/max(el, 0.001), el, end)
}

func (p *progress) stop() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	<-p.exited
}
