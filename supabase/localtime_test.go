package supabase_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
)

// localOrg is an organisation of the local-time tests: its time zone and send hour (8 is the default and
// is left to the default row).
type localOrg struct {
	name, zone string
	hour       int
}

// Oslo at the default hour and at 02:00 (missing on the spring-forward day, repeated on the fall-back day),
// one organisation east of Oslo with the same switches (Helsinki), one east without daylight saving (Tokyo),
// and New York west of Oslo with switches on other days, at 08:00, 02:00 (missing in March) and 01:00
// (repeated in November).
var localOrgs = []localOrg{
	{"Oslo", "Europe/Oslo", 8},
	{"Oslo night", "Europe/Oslo", 2},
	{"Helsinki", "Europe/Helsinki", 8},
	{"Tokyo", "Asia/Tokyo", 8},
	{"New York", "America/New_York", 8},
	{"New York night", "America/New_York", 2},
	{"New York one", "America/New_York", 1},
}

func (o localOrg) slot() string { return fmt.Sprintf("%s@%02d", o.zone, o.hour) }

// addOrganisations creates the organisations in the reference schema and their send hours, and returns
// their ids by name.
func addOrganisations(t *testing.T, conn *pgx.Conn, orgs []localOrg) map[string]string {
	t.Helper()
	ctx := context.Background()
	ids := map[string]string{}
	for _, o := range orgs {
		var id string
		if err := conn.QueryRow(ctx, `insert into public.organisations (name, timezone) values ($1, $2) returning id::text`,
			o.name, o.zone).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if o.hour != 8 {
			if _, err := conn.Exec(ctx, `insert into scheduler.delivery_config (organisation_id, send_hour) values ($1, $2)`,
				id, o.hour); err != nil {
				t.Fatal(err)
			}
		}
		ids[o.name] = id
	}
	return ids
}

// completeSlot records a complete evaluation of a slot's date (every enabled scenario done), as a run that
// completed writes it. The stepped tests use it for dates the function role's date window refuses.
func completeSlot(t *testing.T, conn *pgx.Conn, slot string, date time.Time) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), `insert into scheduler.checkpoints (evaluation_date, scenario, slot, done)
		select $1::date, e.scenario, $2, true from scheduler.enabled_scenarios() e
		on conflict (evaluation_date, scenario, slot, shards, shard) do update set done = true`,
		date.Format(time.DateOnly), slot); err != nil {
		t.Fatal(err)
	}
}

type due struct {
	slot string
	date time.Time
}

func dueSlots(t *testing.T, conn *pgx.Conn, at time.Time) []due {
	t.Helper()
	rows, err := conn.Query(context.Background(), `select slot, local_date from scheduler.due_slots($1) order by slot`, at)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
		var d due
		return d, r.Scan(&d.slot, &d.date)
	})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// The hourly job's choice, stepped hour by hour (five past each UTC hour, as the default schedule calls it)
// across both 2026 switches in Europe (29 March, 25 October) and in the United States (8 March, 1 November):
// every slot is due exactly once per local date, at the first call at or after its local send hour, as Go's
// own time zone database places that hour. A send hour missing on a spring-forward day is due once after
// the jump; the repeated hour of a fall-back day is due once, the first time.
func TestDueSlotsOncePerLocalDateAcrossDaylightSaving(t *testing.T) {
	t.Parallel()
	conn := connect(t, pgtest.NewDatabase(t))
	addOrganisations(t, conn, localOrgs)

	var ticks []time.Time
	for _, sw := range []string{"2026-03-08", "2026-03-29", "2026-10-25", "2026-11-01"} {
		day, _ := time.Parse(time.DateOnly, sw)
		for at := day.AddDate(0, 0, -2).Add(5 * time.Minute); at.Before(day.AddDate(0, 0, 3)); at = at.Add(time.Hour) {
			ticks = append(ticks, at)
		}
	}
	fired := map[due][]time.Time{}
	for _, at := range ticks {
		for _, d := range dueSlots(t, conn, at) {
			fired[due{d.slot, d.date}] = append(fired[due{d.slot, d.date}], at)
			completeSlot(t, conn, d.slot, d.date) // the slot's run completes
		}
	}

	// What Go's time zone database expects: per slot and local date, the first call whose local time is on
	// that date at or after the send hour (a call before the first of the window's calls is not counted).
	want := map[due]time.Time{}
	for _, o := range localOrgs {
		loc, err := time.LoadLocation(o.zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range ticks {
			l := at.In(loc)
			d := due{o.slot(), time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)}
			if _, ok := want[d]; ok || l.Hour() < o.hour {
				continue
			}
			want[d] = at
		}
	}
	if len(want) < 7*20 {
		t.Fatalf("only %d slot dates expected over %d calls", len(want), len(ticks))
	}
	for d, at := range want {
		got := fired[d]
		if len(got) != 1 || !got[0].Equal(at) {
			t.Errorf("%s on %s: due at %v; want once, at %s (local %s)", d.slot, d.date.Format(time.DateOnly), got,
				at.Format(time.RFC3339), at.In(mustZone(t, d.slot)).Format("15:04 MST"))
		}
	}
	for d, at := range fired {
		if _, ok := want[d]; !ok {
			t.Errorf("%s on %s: due at %v, not expected", d.slot, d.date.Format(time.DateOnly), at)
		}
	}

	// The switches themselves, in plain figures.
	utc := func(s string) time.Time { v, _ := time.Parse("2006-01-02 15:04", s); return v }
	day := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }
	for _, c := range []struct {
		slot, date string
		at         time.Time
	}{
		{"Europe/Oslo@02", "2026-03-29", utc("2026-03-29 01:05")},      // 02:00 does not exist: 03:05 CEST
		{"Europe/Oslo@02", "2026-10-25", utc("2026-10-25 00:05")},      // the first 02:05 (CEST), not the second
		{"America/New_York@02", "2026-03-08", utc("2026-03-08 07:05")}, // 03:05 EDT
		{"America/New_York@01", "2026-11-01", utc("2026-11-01 05:05")}, // the first 01:05 (EDT), not 06:05 UTC
		{"Europe/Oslo@08", "2026-03-28", utc("2026-03-28 07:05")},      // CET
		{"Europe/Oslo@08", "2026-03-30", utc("2026-03-30 06:05")},      // CEST
		{"Europe/Oslo@08", "2026-10-26", utc("2026-10-26 07:05")},
		{"Europe/Helsinki@08", "2026-03-30", utc("2026-03-30 05:05")},
		{"Asia/Tokyo@08", "2026-03-30", utc("2026-03-29 23:05")}, // east: the day before in UTC
		{"America/New_York@08", "2026-03-09", utc("2026-03-09 12:05")},
		{"America/New_York@08", "2026-11-02", utc("2026-11-02 13:05")},
	} {
		if got := fired[due{c.slot, day(c.date)}]; len(got) != 1 || !got[0].Equal(c.at) {
			t.Errorf("%s on %s: due at %v, want once at %s", c.slot, c.date, got, c.at.Format(time.RFC3339))
		}
	}
}

func mustZone(t *testing.T, slot string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(slot[:len(slot)-3])
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// A slot whose run did not complete (one scenario partial, or one shard of two not done) is due again at
// the next call of the same local date, and no longer once complete; a whole-project run of the date
// completes every slot.
func TestDueSlotRetriedUntilComplete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := connect(t, pgtest.NewDatabase(t))
	addOrganisations(t, conn, localOrgs[:1])           // Oslo, 08:00
	at := time.Date(2026, 6, 15, 6, 5, 0, 0, time.UTC) // 08:05 CEST
	june15 := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	one := []due{{"Europe/Oslo@08", june15}}
	if got := dueSlots(t, conn, at.Add(-time.Hour)); len(got) != 0 {
		t.Fatalf("07:05 local: due %v, want nothing before the send hour", got)
	}
	if got := dueSlots(t, conn, at); !slices.Equal(got, one) {
		t.Fatalf("08:05 local: due %v, want %v", got, one)
	}
	// The run failed part-way: inactivity done, milestone partial, the rest never started.
	if _, err := conn.Exec(ctx, `insert into scheduler.checkpoints (evaluation_date, scenario, slot, done)
		values ('2026-06-15', 'inactivity', 'Europe/Oslo@08', true), ('2026-06-15', 'milestone', 'Europe/Oslo@08', false)`); err != nil {
		t.Fatal(err)
	}
	if got := dueSlots(t, conn, at.Add(time.Hour)); !slices.Equal(got, one) {
		t.Fatalf("after a failed run: due %v, want %v again", got, one)
	}
	// The next call ran every scenario, but one of them in two shards of which one is done.
	completeSlot(t, conn, "Europe/Oslo@08", june15)
	if _, err := conn.Exec(ctx, `delete from scheduler.checkpoints where scenario = 'certification_expiry';
		insert into scheduler.checkpoints (evaluation_date, scenario, slot, shard, shards, done)
		values ('2026-06-15', 'certification_expiry', 'Europe/Oslo@08', 1, 2, true),
		       ('2026-06-15', 'certification_expiry', 'Europe/Oslo@08', 2, 2, false)`); err != nil {
		t.Fatal(err)
	}
	if got := dueSlots(t, conn, at.Add(2*time.Hour)); !slices.Equal(got, one) {
		t.Fatalf("one shard of two left: due %v, want %v again", got, one)
	}
	if _, err := conn.Exec(ctx, `update scheduler.checkpoints set done = true`); err != nil {
		t.Fatal(err)
	}
	if got := dueSlots(t, conn, at.Add(3*time.Hour)); len(got) != 0 {
		t.Fatalf("complete: due %v, want nothing", got)
	}
	// The next local date: due again; a whole-project run of it completes it for every slot.
	next := []due{{"Europe/Oslo@08", june15.AddDate(0, 0, 1)}}
	if got := dueSlots(t, conn, at.Add(24*time.Hour)); !slices.Equal(got, next) {
		t.Fatalf("the next day: due %v, want %v", got, next)
	}
	completeSlot(t, conn, "", june15.AddDate(0, 0, 1))
	if got := dueSlots(t, conn, at.Add(24*time.Hour)); len(got) != 0 {
		t.Fatalf("after a whole-project run: due %v, want nothing", got)
	}
}

// The hourly job's command queues one signed request per due slot and shard, each naming its slot and the
// slot's local date, signed as the function verifies it; a call with nothing due queues nothing.
func TestInvokeDueSlotsQueuesSignedSlotRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, conn := withStandIns(t)
	addOrganisations(t, conn, []localOrg{localOrgs[0], localOrgs[3], localOrgs[4]}) // Oslo, Tokyo, New York at 08
	secret := randomHex(t, 32)
	storeSecrets(t, conn, "http://127.0.0.1:9/fn", secret)

	// 23:30 UTC on 1 June: 01:30 in Oslo (2 June), 08:30 in Tokyo (2 June), 19:30 in New York (1 June).
	at := time.Date(2026, 6, 1, 23, 30, 0, 0, time.UTC)
	var queued int
	if err := conn.QueryRow(ctx, `select scheduler.invoke_due_slots('scenario-scheduler-hourly', 2, $1)`, at).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `select q.url, q.headers, convert_from(q.body, 'UTF8') from net.http_request_queue q order by q.id`)
	if err != nil {
		t.Fatal(err)
	}
	type req struct {
		url     string
		headers map[string]string
		body    string
	}
	reqs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (req, error) {
		var q req
		return q, r.Scan(&q.url, &q.headers, &q.body)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, q := range reqs {
		b, err := httpfn.DecodeSigned(q.headers["Content-Type"], []byte(q.body))
		if err != nil {
			t.Fatalf("queued body %s does not decode strictly: %v", q.body, err)
		}
		ts, err := strconv.ParseInt(q.headers[httpfn.TimestampHeader], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if want := httpfn.SignWithNonce(secret, time.Unix(ts, 0), q.headers[httpfn.NonceHeader], "POST", "/fn", b).Value; q.headers[httpfn.SignatureHeader] != want {
			t.Errorf("body %s: signature %s, want %s", q.body, q.headers[httpfn.SignatureHeader], want)
		}
		got = append(got, b.Slot+" "+b.EvaluationDate+" "+b.Shard+" "+b.Job)
	}
	want := []string{
		"America/New_York@08 2026-06-01 1/2 scenario-scheduler-hourly", "America/New_York@08 2026-06-01 2/2 scenario-scheduler-hourly",
		"Asia/Tokyo@08 2026-06-02 1/2 scenario-scheduler-hourly", "Asia/Tokyo@08 2026-06-02 2/2 scenario-scheduler-hourly",
	}
	if queued != len(want) || !slices.Equal(got, want) {
		t.Fatalf("queued %d requests:\n%v\nwant\n%v", queued, got, want)
	}
	var slots []string
	rows, err = conn.Query(ctx, `select slot || ' ' || shard from scheduler.invocations order by id`)
	if err != nil {
		t.Fatal(err)
	}
	if slots, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil || len(slots) != 4 || slots[0] != "America/New_York@08 1/2" {
		t.Fatalf("invocations %v (%v); want each request recorded with its slot and shard", slots, err)
	}

	// Once those runs completed, nothing is due half an hour later (02:00 in Oslo): nothing is queued. A bad
	// slot given to invoke by hand is refused before anything is queued.
	completeSlot(t, conn, "America/New_York@08", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	completeSlot(t, conn, "Asia/Tokyo@08", time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC))
	if err := conn.QueryRow(ctx, `select scheduler.invoke_due_slots('scenario-scheduler-hourly', 1, $1)`,
		at.Add(30*time.Minute)).Scan(&queued); err != nil || queued != 0 {
		t.Fatalf("00:00 UTC, every slot done or before its hour: queued %d (%v), want 0", queued, err)
	}
	for _, bad := range []string{"", "Europe/Oslo", "Europe/Oslo@8", "Europe/Oslo@24", "../etc/passwd@08", "Europe/Oslo@08 "} {
		_, err := conn.Exec(ctx, `select scheduler.invoke(null, 'scenario-scheduler-hourly', false, 1, $1)`, bad)
		if sqlState(err) != "22023" {
			t.Errorf("invoke with slot %q: %v, want 22023", bad, err)
		}
	}
	if n := countRows(t, conn, `select count(*) from net.http_request_queue`); n != 4 {
		t.Errorf("%d requests queued, want the 4 of the first call only", n)
	}
}
