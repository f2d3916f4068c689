package supabase_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

// slotBundle is a database with Oslo, Tokyo and New York organisations (each at the default 08:00), three
// active mentors each who joined 60 days ago and never registered an activity (inactivity fires for every
// one), and an engine on the function's role whose clock reads 15:30 UTC today: 16:30 or 17:30 in Oslo
// (today), 00:30 in Tokyo (tomorrow), 10:30 or 11:30 in New York (today).
type slotBundle struct {
	conn        *pgx.Conn
	store       *postgres.Store
	engine      *engine.Engine
	now         time.Time
	today, next string // the UTC date of now, and the day after
}

func slotSetup(t *testing.T) slotBundle {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	conn := connect(t, dbURL)
	ids := addOrganisations(t, conn, []localOrg{localOrgs[0], localOrgs[3], localOrgs[4]})
	now := time.Now().UTC().Truncate(24 * time.Hour).Add(15*time.Hour + 30*time.Minute)
	for _, id := range ids {
		if _, err := conn.Exec(ctx, `insert into public.peer_mentors (organisation_id, full_name, joined_on)
			select $1, 'Mentor ' || g, $2::date - 60 from generate_series(1, 3) g`, id, now.Format(time.DateOnly)); err != nil {
			t.Fatal(err)
		}
	}
	store, err := postgres.Open(ctx, postgres.Config{URL: loginRole(t, conn, dbURL)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return slotBundle{conn: conn, store: store, engine: engine.New(store, engine.Options{Now: func() time.Time { return now }}),
		now: now, today: now.Format(time.DateOnly), next: now.AddDate(0, 0, 1).Format(time.DateOnly)}
}

// notified lists "<organisation> <evaluation date>" per notification, sorted.
func (b slotBundle) notified(t *testing.T) []string {
	t.Helper()
	return queryStrings(t, b.conn, `select o.name || ' ' || n.evaluation_date::text
		from public.notifications n join public.organisations o on o.id = n.organisation_id order by 1`)
}

func times(n int, s string) []string { return slices.Repeat([]string{s}, n) }

func mustSlot(t *testing.T, s string) engine.Slot {
	t.Helper()
	slot, err := engine.ParseSlot(s)
	if err != nil {
		t.Fatal(err)
	}
	return slot
}

// Two slots, each run at its own local hour: each evaluates only its organisations' mentors, for its own
// local date (Tokyo's is already tomorrow), with checkpoints of its own. A whole-project run of Tokyo's date
// afterwards notifies nobody twice: Tokyo's notifications are found as duplicates.
func TestSlotRunsEvaluateTheirOwnOrganisations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := slotSetup(t)

	for _, c := range []struct {
		slot, date string
		want       []string
	}{
		{"Asia/Tokyo@08", b.next, times(3, "Tokyo "+b.next)},
		{"America/New_York@08", b.today, append(times(3, "New York "+b.today), times(3, "Tokyo "+b.next)...)},
	} {
		rep, err := b.engine.Run(ctx, engine.Request{Slot: mustSlot(t, c.slot)})
		if err != nil || rep.Status != engine.Completed || rep.Slot != c.slot || rep.EvaluationDate != c.date {
			t.Fatalf("%s: %v, status %s, slot %q, date %s; want completed for %s", c.slot, err, rep.Status, rep.Slot,
				rep.EvaluationDate, c.date)
		}
		for _, s := range rep.Scenarios {
			if s.Scenario == engine.Inactivity && (s.Evaluated != 3 || s.Notified != 3) {
				t.Errorf("%s: inactivity evaluated %d, notified %d; want the slot's 3 mentors", c.slot, s.Evaluated, s.Notified)
			}
		}
		if got := b.notified(t); !slices.Equal(got, c.want) {
			t.Fatalf("after %s: notifications %v, want %v", c.slot, got, c.want)
		}
		var rows int
		if err := b.conn.QueryRow(ctx, `select count(*) from scheduler.checkpoints where slot = $1 and evaluation_date = $2 and done`,
			c.slot, c.date).Scan(&rows); err != nil || rows != len(engine.Scenarios) {
			t.Fatalf("%s: %d done checkpoints (%v), want one per scenario", c.slot, rows, err)
		}
	}
	// The same slot again: nothing left to do.
	if rep, err := b.engine.Run(ctx, engine.Request{Slot: mustSlot(t, "Asia/Tokyo@08")}); err != nil || rep.Status != engine.AlreadyCompleted {
		t.Fatalf("Tokyo again: %v, %s; want already_completed", err, rep.Status)
	}

	// The whole project for Tokyo's date: Oslo's mentors are notified for it, Tokyo's are duplicates, and
	// New York's (nudged yesterday by their local date) are not nudged again.
	rep, err := b.engine.Run(ctx, engine.Request{EvaluationDate: b.next, Scenarios: []string{engine.Inactivity}})
	if err != nil || rep.Status != engine.Completed || rep.Slot != "" {
		t.Fatalf("whole project: %v, %s, slot %q", err, rep.Status, rep.Slot)
	}
	if s := rep.Scenarios[0]; s.Evaluated != 9 || s.Duplicates != 3 || s.Notified != 3 {
		t.Errorf("whole project: evaluated %d, duplicates %d, notified %d; want 9, Tokyo's 3, Oslo's 3", s.Evaluated, s.Duplicates, s.Notified)
	}
	want := append(append(times(3, "New York "+b.today), times(3, "Oslo "+b.next)...), times(3, "Tokyo "+b.next)...)
	if got := b.notified(t); !slices.Equal(got, want) {
		t.Fatalf("after the whole project: notifications %v, want %v", got, want)
	}
}

// The slot over HTTP: a signed request naming a slot runs that slot; a signature made without the slot does
// not let the slot through (the signature covers it); a malformed slot or a time zone the function does not
// know is refused with 400, signed or not, and nothing is written.
func TestSignedSlotOverHTTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := slotSetup(t)
	secret := randomHex(t, 32)
	srv := httptest.NewServer(httpfn.New(b.engine, httpfn.Config{Secret: secret, Replay: b.store}))
	t.Cleanup(srv.Close)

	post := func(body map[string]any, signed httpfn.Body, bySecret bool) (int, string) {
		t.Helper()
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/", bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if bySecret {
			req.Header.Set(httpfn.SecretHeader, secret)
		} else {
			httpfn.Sign(secret, time.Now(), http.MethodPost, "/", signed).Set(req.Header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}

	ny := httpfn.Body{Trigger: "cron", Job: "scenario-scheduler-hourly", Slot: "America/New_York@08", EvaluationDate: b.today}
	code, out := post(map[string]any{"trigger": "cron", "job": ny.Job, "slot": ny.Slot, "evaluation_date": ny.EvaluationDate}, ny, false)
	var rep engine.Report
	if err := json.Unmarshal([]byte(out), &rep); code != http.StatusOK || err != nil || rep.Slot != ny.Slot ||
		rep.EvaluationDate != b.today || rep.Status != engine.Completed {
		t.Fatalf("signed New York slot: %d %s", code, out)
	}
	wantNotified := times(3, "New York "+b.today)
	if got := b.notified(t); !slices.Equal(got, wantNotified) {
		t.Fatalf("notifications %v, want %v", got, wantNotified)
	}
	runs := countRows(t, b.conn, `select count(*) from scheduler.runs`)

	// Signed without a slot, sent with Oslo's.
	plain := httpfn.Body{Trigger: "cron", Job: "scenario-scheduler-hourly"}
	if code, out := post(map[string]any{"trigger": "cron", "job": plain.Job, "slot": "Europe/Oslo@08"}, plain, false); code != http.StatusUnauthorized {
		t.Errorf("a slot the signature does not cover: %d %s, want 401", code, out)
	}
	for _, bad := range []string{"", "Europe/Oslo", "Europe/Oslo@8", "Europe/Oslo@24", "Mars/Olympus@08", "Local@08",
		"../../etc/passwd@08", "Europe/Oslo@08\n"} {
		body := httpfn.Body{Slot: bad}
		if code, out := post(map[string]any{"slot": bad}, body, false); code != http.StatusBadRequest {
			t.Errorf("signed slot %q: %d %s, want 400", bad, code, out)
		}
		if code, out := post(map[string]any{"slot": bad}, body, true); code != http.StatusBadRequest {
			t.Errorf("slot %q with the secret: %d %s, want 400", bad, code, out)
		}
	}
	if code, out := post(map[string]any{"slot": "Europe/Oslo@08", "deliver_only": true}, httpfn.Body{}, true); code != http.StatusBadRequest {
		t.Errorf("slot with deliver_only: %d %s, want 400", code, out)
	}
	if n := countRows(t, b.conn, `select count(*) from scheduler.runs`); n != runs {
		t.Errorf("%d runs recorded by refused requests", n-runs)
	}
	if got := b.notified(t); !slices.Equal(got, wantNotified) {
		t.Errorf("notifications %v after refused requests, want %v", got, wantNotified)
	}
}
