package supabase_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
)

// feedBundle is a fresh database with the reference app and its feed triggers, two mentors A and B of one
// organisation and a second organisation, an admin connection (the migration role, which reads the feed)
// and a connection as an app role that may write the app's tables and nothing in schema scheduler.
type feedBundle struct {
	dbURL        string
	admin, app   *pgx.Conn
	a, b, orgTwo string
}

func setupFeed(t *testing.T) *feedBundle {
	t.Helper()
	ctx := context.Background()
	f := &feedBundle{dbURL: pgtest.NewDatabase(t)}
	f.admin = connect(t, f.dbURL)
	err := f.admin.QueryRow(ctx, `
		with o as (insert into public.organisations (name) values ('En'), ('To') returning id, name),
		     m as (insert into public.peer_mentors (organisation_id, full_name)
		           select o.id, n from o, unnest(array['A', 'B']) n where o.name = 'En' returning id, full_name)
		select (select id::text from m where full_name = 'A'), (select id::text from m where full_name = 'B'),
		       (select id::text from o where name = 'To')`).Scan(&f.a, &f.b, &f.orgTwo)
	if err != nil {
		t.Fatal(err)
	}
	// The feed as a transaction of the app role sees it (the role itself may not read it).
	if _, err := f.admin.Exec(ctx, `create function public.feed_for_test() returns setof scheduler.mentor_changes
		language sql security definer set search_path = '' as 'select * from scheduler.mentor_changes'`); err != nil {
		t.Fatal(err)
	}
	// The app's own rules for its writers (row-level security is on in the reference app): here, anything.
	for _, tbl := range []string{"organisations", "peer_mentors", "activities", "certifications"} {
		if _, err := f.admin.Exec(ctx, `create policy feed_test_writer on public.`+tbl+` using (true) with check (true)`); err != nil {
			t.Fatal(err)
		}
	}
	f.app = connect(t, appRole(t, f.admin, f.dbURL, `grant select, insert, update, delete on
		public.organisations, public.peer_mentors, public.activities, public.certifications to %[1]s;
		grant execute on function public.feed_for_test() to %[1]s`))
	f.clear(t)
	return f
}

// appRole creates a LOGIN role given grant (a statement with %s for the role's name), dropped when the test
// ends, and returns dbURL with that user.
func appRole(t *testing.T, admin *pgx.Conn, dbURL, grant string) string {
	t.Helper()
	ctx := context.Background()
	name, password := "feed_app_"+randomHex(t, 4), randomHex(t, 16)
	if _, err := admin.Exec(ctx, fmt.Sprintf(`create role %s login password '%s'`, name, password)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dbURL)
		if err != nil {
			t.Errorf("dropping role %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), fmt.Sprintf(`revoke all on all tables in schema public from %[1]s;
			revoke all on all functions in schema public from %[1]s; drop role if exists %[1]s`, name)); err != nil {
			t.Errorf("dropping role %s: %v", name, err)
		}
	})
	if grant != "" {
		if _, err := admin.Exec(ctx, fmt.Sprintf(grant, name)); err != nil {
			t.Fatalf("%s: %v", fmt.Sprintf(grant, name), err)
		}
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(name, password)
	return u.String()
}

// clear empties the feed (as its owner: what a run that evaluated everyone would leave).
func (f *feedBundle) clear(t *testing.T) {
	t.Helper()
	if _, err := f.admin.Exec(context.Background(), `delete from scheduler.mentor_changes`); err != nil {
		t.Fatal(err)
	}
}

// feedRow is one mentor's row in the feed.
type feedRow struct {
	seq  int64
	from *time.Time
}

// feed reads the feed through q (inside a transaction: what that transaction sees).
func feed(t *testing.T, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) map[string]feedRow {
	t.Helper()
	rows, err := q.Query(context.Background(), `select user_id::text, change_seq, affected_from from scheduler.mentor_changes`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]feedRow{}
	var id string
	var r feedRow
	if _, err := pgx.ForEachRow(rows, []any{&id, &r.seq, &r.from}, func() error { got[id] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// want is a mentor's expected affected date: "" for none (null).
func checkFeed(t *testing.T, got map[string]feedRow, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("feed has %d mentors, want %d: %v", len(got), len(want), got)
	}
	for id, w := range want {
		r, ok := got[id]
		switch {
		case !ok:
			t.Errorf("mentor %s is not in the feed", id)
		case w == "" && r.from != nil:
			t.Errorf("mentor %s: affected_from %s, want null (no activity changed)", id, r.from.Format(time.DateOnly))
		case w != "" && (r.from == nil || !r.from.Equal(day(w))):
			t.Errorf("mentor %s: affected_from %v, want %s", id, r.from, w)
		}
	}
}

// Each kind of write the rules depend on lands in the feed in the writing transaction, written through the
// reference mapping's triggers by an app role with no privilege in schema scheduler; a write that rolls back
// leaves nothing; a write the rules do not read notes nothing.
func TestChangeFeedNotesEachKindOfChange(t *testing.T) {
	ctx := context.Background()
	f := setupFeed(t)
	if _, err := f.admin.Exec(ctx, `with a as (insert into public.activities (user_id, activity_date, kind)
		  values ($1, '2026-11-01', 'meeting'), ($2, '2026-11-02', 'call'))
		insert into public.certifications (user_id, name, expires_at) values ($1, 'Likepersonkurs', '2027-01-01')`, f.a, f.b); err != nil {
		t.Fatal(err)
	}
	f.clear(t)

	cases := []struct {
		name  string
		write string
		want  map[string]string // "a"/"b"/"new" → affected date
	}{
		{"insert", `insert into public.activities (user_id, activity_date) values ($1, '2026-12-01')`, map[string]string{"a": "2026-12-01"}},
		{"backfill", `insert into public.activities (user_id, activity_date) values ($1, '2025-03-04')`, map[string]string{"a": "2025-03-04"}},
		{"bulk insert: one row per mentor, its earliest date", `insert into public.activities (user_id, activity_date)
			select m, '2026-12-01'::date - g from unnest(array[$1::uuid, $2::uuid]) m, generate_series(0, 99) g`,
			map[string]string{"a": "2026-08-24", "b": "2026-08-24"}},
		{"update moving an activity to another mentor notes both", `update public.activities set user_id = $2 where user_id = $1 and activity_date = '2026-11-01'`,
			map[string]string{"a": "2026-11-01", "b": "2026-11-01"}},
		{"update moving an activity's date notes the earlier one", `update public.activities set activity_date = '2026-10-15' where user_id = $2 and activity_date = '2026-11-02'`,
			map[string]string{"b": "2026-10-15"}},
		{"delete notes the earliest deleted date", `delete from public.activities where user_id = $1`, map[string]string{"a": "2025-03-04"}},
		{"certification added", `insert into public.certifications (user_id, name, expires_at) values ($2, 'Førstehjelp', '2027-02-01')`, map[string]string{"b": ""}},
		{"certification renewed", `update public.certifications set expires_at = '2028-01-01' where user_id = $1`, map[string]string{"a": ""}},
		{"certification moved", `update public.certifications set user_id = $2 where user_id = $1`, map[string]string{"a": "", "b": ""}},
		{"certification deleted", `delete from public.certifications where user_id = $2 and name = 'Førstehjelp'`, map[string]string{"b": ""}},
		{"status", `update public.peer_mentors set status = 'paused' where id = $1`, map[string]string{"a": ""}},
		{"organisation", `update public.peer_mentors set organisation_id = $3 where id = $2`, map[string]string{"b": ""}},
		{"joined_on", `update public.peer_mentors set joined_on = joined_on - 1 where id = $1`, map[string]string{"a": ""}},
		{"new mentor", `insert into public.peer_mentors (organisation_id, full_name) values ($3, 'Ny')`, map[string]string{"new": ""}},
		{"activity kind: nothing the rules read", `update public.activities set kind = 'course' where user_id = $1`, map[string]string{}},
		{"certification name: nothing the rules read", `update public.certifications set name = 'Kurs' where user_id = $2`, map[string]string{}},
		{"mentor name and locale: nothing the rules read", `update public.peer_mentors set full_name = 'Anne', locale = 'en' where id = $1`, map[string]string{}},
	}
	// $1 and $2 are mentors A and B, $3 the second organisation.
	ids := strings.NewReplacer("$1", "'"+f.a+"'::uuid", "$2", "'"+f.b+"'::uuid", "$3", "'"+f.orgTwo+"'::uuid")
	// The cases run in order on one history: each one's committed write is the next one's starting point.
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, commit := range []bool{false, true} {
				f.clear(t)
				tx, err := f.app.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Exec(ctx, ids.Replace(c.write)); err != nil {
					_ = tx.Rollback(ctx)
					t.Fatalf("as the app role: %v", err)
				}
				// The feed as the writing transaction sees it, before commit.
				var inTx int
				if err := tx.QueryRow(ctx, `select count(*) from public.feed_for_test()`).Scan(&inTx); err != nil {
					_ = tx.Rollback(ctx)
					t.Fatal(err)
				}
				if inTx != len(c.want) {
					t.Errorf("inside the writing transaction the feed has %d mentors, want %d", inTx, len(c.want))
				}
				if !commit {
					if err := tx.Rollback(ctx); err != nil {
						t.Fatal(err)
					}
					if got := feed(t, f.admin); len(got) != 0 {
						t.Errorf("rolled back: the feed still has %v", got)
					}
					continue
				}
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				want := map[string]string{}
				for who, d := range c.want {
					id := map[string]string{"a": f.a, "b": f.b}[who]
					if who == "new" {
						if err := f.admin.QueryRow(ctx, `select id::text from public.peer_mentors where full_name = 'Ny'`).Scan(&id); err != nil {
							t.Fatal(err)
						}
					}
					want[id] = d
				}
				checkFeed(t, feed(t, f.admin), want)
			}
		})
	}
}

// Only the one function writes the feed. A role without scheduler_change_feed can neither call it nor touch
// the table; a member can call it, and that is all: made-up ids are dropped, a note never makes a pending
// date later (it only adds work), and the member can read, change or delete nothing.
func TestChangeFeedAccess(t *testing.T) {
	ctx := context.Background()
	f := setupFeed(t)
	denied(t, f.app, "an app role without scheduler_change_feed",
		`select scheduler.note_mentor_change(array['`+f.a+`'::uuid], array[current_date])`,
		`select * from scheduler.mentor_changes`,
		`insert into scheduler.mentor_changes (user_id, change_seq) values ('`+f.a+`', 1)`,
		`select nextval('scheduler.mentor_change_seq')`,
		`select * from scheduler.change_feed_coverage()`)
	if got := feed(t, f.admin); len(got) != 0 {
		t.Fatalf("the refused calls left %v in the feed", got)
	}
	// Nobody else executes the note or the reference mapping's trigger functions: not PUBLIC, not Supabase's
	// API roles, not the function role.
	for _, fn := range []string{"scheduler.note_mentor_change(uuid[], date[])", "public.note_activity_changes()",
		"public.note_certification_changes()", "public.note_mentor_changes()"} {
		who := queryStrings(t, f.admin, `
			select 'PUBLIC' from aclexplode((select coalesce(proacl, acldefault('f', proowner)) from pg_proc where oid = $1::regprocedure)) a
			where a.grantee = 0 and a.privilege_type = 'EXECUTE'
			union all
			select r.rolname::text from pg_roles r
			where r.rolname in ('anon', 'authenticated', 'service_role', 'scenario_scheduler') and has_function_privilege(r.oid, $1::regprocedure, 'execute')`, fn)
		if len(who) > 0 {
			t.Errorf("%v may execute %s; want only its owner (and scheduler_change_feed for the note)", who, fn)
		}
	}

	memberURL := appRole(t, f.admin, f.dbURL, `grant scheduler_change_feed to %s`)
	member := connect(t, memberURL)
	// Exactly one function, and nothing else in schema scheduler.
	got := queryStrings(t, member, `
		select p.oid::regprocedure::text from pg_proc p
		where p.pronamespace = 'scheduler'::regnamespace and has_function_privilege(p.oid, 'execute')
		union all
		select c.oid::regclass::text || ' ' || x.p from pg_class c, unnest(array['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger']) x(p)
		where c.relnamespace = 'scheduler'::regnamespace and c.relkind in ('r', 'p', 'v', 'm') and has_table_privilege(c.oid, x.p)
		union all
		select c.oid::regclass::text || ' ' || x.p from pg_class c, unnest(array['usage', 'select', 'update']) x(p)
		where c.relnamespace = 'scheduler'::regnamespace and c.relkind = 'S' and has_sequence_privilege(c.oid, x.p)`)
	if len(got) != 1 || got[0] != "scheduler.note_mentor_change(uuid[],date[])" {
		t.Errorf("a member of scheduler_change_feed may use %v in schema scheduler; want exactly scheduler.note_mentor_change(uuid[],date[])", got)
	}

	note := func(ids []string, dates []string) error {
		_, err := member.Exec(ctx, `select scheduler.note_mentor_change($1::uuid[], $2::date[])`, ids, dates)
		return err
	}
	if err := note([]string{f.a, "00000000-0000-0000-0000-000000000001", f.a}, []string{"2026-05-01", "2026-05-01", "2026-04-01"}); err != nil {
		t.Fatalf("as a member: %v", err)
	}
	first := feed(t, f.admin)
	checkFeed(t, first, map[string]string{f.a: "2026-04-01"})
	// A later date, or none, leaves the pending date as it is; the sequence still rises.
	if err := note([]string{f.a}, []string{"2026-06-01"}); err != nil {
		t.Fatal(err)
	}
	if err := note([]string{f.a}, nil); err != nil {
		t.Fatal(err)
	}
	second := feed(t, f.admin)
	checkFeed(t, second, map[string]string{f.a: "2026-04-01"})
	if second[f.a].seq <= first[f.a].seq {
		t.Errorf("change_seq went from %d to %d; want it to rise with every note", first[f.a].seq, second[f.a].seq)
	}
	// An earlier one moves it.
	if err := note([]string{f.a}, []string{"2020-01-01"}); err != nil {
		t.Fatal(err)
	}
	checkFeed(t, feed(t, f.admin), map[string]string{f.a: "2020-01-01"})
	// Several mentors at once (a statement's transition table) keep the same rule.
	if err := note([]string{f.b, f.a}, []string{"2026-05-01", "2021-01-01"}); err != nil {
		t.Fatal(err)
	}
	checkFeed(t, feed(t, f.admin), map[string]string{f.a: "2020-01-01", f.b: "2026-05-01"})
	if err := note([]string{f.a, f.b}, []string{"2026-05-01"}); sqlState(err) != "22023" {
		t.Errorf("two ids and one date: %v, want SQLSTATE 22023", err)
	}
	denied(t, member, "a member of scheduler_change_feed",
		`select * from scheduler.mentor_changes`,
		`delete from scheduler.mentor_changes`,
		`update scheduler.mentor_changes set affected_from = null`,
		`insert into scheduler.mentor_changes (user_id, change_seq) values ('`+f.b+`', 1)`,
		`select setval('scheduler.mentor_change_seq', 1)`,
		`select * from scheduler.change_feed_coverage()`)
}

// The reference mapping installs the feed; a missing or disabled trigger, or the migrations' placeholders,
// say which writes go unnoted.
func TestChangeFeedInstalled(t *testing.T) {
	ctx := context.Background()
	f := setupFeed(t)
	installed := func(conn *pgx.Conn) (bool, []string) {
		t.Helper()
		var ok *bool
		if err := conn.QueryRow(ctx, `select scheduler.change_feed_installed()`).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		missing := queryStrings(t, conn, `select source_view || ' ' || coalesce(base_table, '(no table)') || ' ' || array_to_string(missing_events, ',')
			from scheduler.change_feed_coverage() where base_table is null or cardinality(missing_events) > 0`)
		return ok != nil && *ok, missing
	}
	if ok, missing := installed(f.admin); !ok || len(missing) > 0 {
		t.Errorf("reference mapping: installed %v, missing %v; want installed", ok, missing)
	}
	if _, err := f.admin.Exec(ctx, `alter table public.activities disable trigger activities_feed_delete;
		drop trigger certifications_feed_update on public.certifications`); err != nil {
		t.Fatal(err)
	}
	ok, missing := installed(f.admin)
	want := []string{"activities public.activities DELETE", "certifications public.certifications UPDATE"}
	if ok || fmt.Sprint(missing) != fmt.Sprint(want) {
		t.Errorf("a disabled and a dropped trigger: installed %v, missing %v; want not installed, missing %v", ok, missing, want)
	}

	placeholders := connect(t, pgtest.NewMigratedDatabase(t))
	ok, missing = installed(placeholders)
	if ok || len(missing) != 3 {
		t.Errorf("the migrations' placeholder views: installed %v, missing %v; want not installed, three views without a table", ok, missing)
	}
}

// An app shaped nothing like the reference (supabase/reference/examples): its mapping and its change feed
// install the feed, and an event notes its local date in Norway, not its UTC date.
func TestChangeFeedDifferentlyShapedApp(t *testing.T) {
	ctx := context.Background()
	conn := connect(t, pgtest.NewMigratedDatabase(t))
	for _, f := range []string{"members_app.sql", "members_mapping.sql", "members_change_feed.sql", "members_change_feed.sql"} {
		sql, err := os.ReadFile("reference/examples/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	var installed bool
	if err := conn.QueryRow(ctx, `select scheduler.change_feed_installed()`).Scan(&installed); err != nil || !installed {
		t.Errorf("members app: installed %v (%v), want true; missing: %v", installed, err,
			queryStrings(t, conn, `select source_view || ' ' || coalesce(base_table, '-') || ' ' || array_to_string(missing_events, ',')
				from scheduler.change_feed_coverage() where base_table is null or cardinality(missing_events) > 0`))
	}
	var member string
	if err := conn.QueryRow(ctx, `with c as (insert into public.clubs (title) values ('Sjakklubben') returning club_uuid)
		insert into public.members (org, display_name) select club_uuid, 'Sverre' from c returning member_uuid::text`).Scan(&member); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `delete from scheduler.mentor_changes`); err != nil {
		t.Fatal(err)
	}
	// 23:30 UTC on 1 March is 00:30 on 2 March in Oslo.
	if _, err := conn.Exec(ctx, `insert into public.events (member, happened_at) values ($1, '2026-03-01T23:30:00Z')`, member); err != nil {
		t.Fatal(err)
	}
	checkFeed(t, feed(t, conn), map[string]string{member: "2026-03-02"})
	if _, err := conn.Exec(ctx, `delete from scheduler.mentor_changes`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `update public.members set active = false where member_uuid = $1`, member); err != nil {
		t.Fatal(err)
	}
	checkFeed(t, feed(t, conn), map[string]string{member: ""})
}
