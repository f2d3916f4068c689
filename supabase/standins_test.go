package supabase_test

import (
	"context"
	"testing"
	"time"
)

// vaultDecrypt is the C function of supabase_vault 0.3 that vault.decrypted_secrets calls for each row.
const vaultDecrypt = `vault._crypto_aead_det_decrypt(bytea, bytea, bigint, bytea, bytea)`

// Vault as on Supabase (the real supabase_vault where installed, the stand-in otherwise): the view
// vault.decrypted_secrets calls vault._crypto_aead_det_decrypt, and a view's functions run with the reader's
// rights, so reading it takes EXECUTE on that function as well as SELECT on the view. Supabase grants both
// to postgres (and service_role), and neither to PUBLIC, the API roles or the function role.
func TestVaultGrantsAsOnSupabase(t *testing.T) {
	ctx := context.Background()
	dbURL, conn, admin := supabaseLike(t)
	storeSecrets(t, conn, "http://127.0.0.1:9/scheduler", "the-secret-"+randomHex(t, 8))

	if n := count(t, conn, `select count(*) from vault.decrypted_secrets where decrypted_secret like 'the-secret-%'`); n != 1 {
		t.Errorf("postgres reads %d decrypted secrets, want 1", n)
	}
	for _, c := range []struct {
		role string
		want bool
	}{{"postgres", true}, {"service_role", true}, {"anon", false}, {"authenticated", false}, {"scenario_scheduler", false}} {
		var got bool
		if err := conn.QueryRow(ctx, `select has_function_privilege($1, $2, 'EXECUTE')`, c.role, vaultDecrypt).Scan(&got); err != nil {
			t.Fatalf("%s: %v", vaultDecrypt, err)
		}
		if got != c.want {
			t.Errorf("%s may execute %s: %t, want %t", c.role, vaultDecrypt, got, c.want)
		}
	}
	if n := count(t, conn, `select count(*) from pg_proc p, aclexplode(p.proacl) a
		where p.oid = $1::regprocedure and a.grantee = 0`, vaultDecrypt); n != 0 {
		t.Errorf("PUBLIC may execute %s", vaultDecrypt)
	}
	fn := connect(t, loginRole(t, conn, dbURL))
	denied(t, fn, "the function role",
		`select decrypted_secret from vault.decrypted_secrets`,
		`select vault._crypto_aead_det_decrypt(''::bytea, ''::bytea, 0)`)

	// The view needs the function: without EXECUTE on it, SELECT on the view is not enough (postgres is a
	// member of service_role, as on Supabase: both lose it).
	if _, err := admin.Exec(ctx, `revoke execute on function `+vaultDecrypt+` from postgres, service_role cascade`); err != nil {
		t.Fatal(err)
	}
	denied(t, conn, "postgres without EXECUTE on "+vaultDecrypt, `select decrypted_secret from vault.decrypted_secrets`)
}

// pg_net's worker connects as pg_net.username (hosted Supabase sets postgres, and so does localpg; pg_net's
// default is the bootstrap superuser), and a trigger on its tables runs in the worker's session as that role,
// whoever attached it. pg_net grants TRIGGER on its tables to PUBLIC, so a role with TEMP (here
// authenticated, as Supabase grants it) attaches a temporary function of its own: the code runs in the
// worker when the next answer is recorded, for any request of the database, and as postgres it reads Vault
// (docs/security.md, what the project cannot fix). The real worker where pg_net is installed, the
// stand-in's otherwise.
func TestPgNetWorkerRunsAsPgNetUsername(t *testing.T) {
	ctx := context.Background()
	db := servedDatabase(t)
	var want string
	var super bool
	if err := db.Conn.QueryRow(ctx, `select r.rolname::text, r.rolsuper from pg_roles r where r.rolname = `+workerRole).
		Scan(&want, &super); err != nil {
		t.Fatalf("the role pg_net.username names: %v", err)
	}
	fn := newFakeFunction(t)
	storeSecrets(t, db.Conn, fn.srv.URL+"/scheduler", "the-secret-"+randomHex(t, 8))

	seen := "public.pg_net_worker_seen_" + randomHex(t, 4)
	if _, err := db.Admin.Exec(ctx, `create table `+seen+` (id bigint, session_role text, acting_role text, reads_vault boolean);
		grant insert on `+seen+` to public`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.Admin.Exec(context.Background(), `drop table if exists `+seen) })

	// The attacker: a session as authenticated, which keeps TEMP. It stays open until the answer is in (its
	// temporary function, and with it the trigger, goes when it ends).
	attacker := connect(t, db.URL)
	trig := "seen_" + randomHex(t, 3)
	for _, q := range []string{
		`set role authenticated`,
		`create function pg_temp.seen() returns trigger language plpgsql as $f$
		declare
		  reads boolean := true;
		begin
		  begin
		    perform count(decrypted_secret) from vault.decrypted_secrets;
		  exception when insufficient_privilege then
		    reads := false;
		  end;
		  insert into ` + seen + ` values (new.id, session_user, current_user, reads);
		  return null;
		end $f$`,
		`create trigger ` + trig + ` after insert on net._http_response for each row execute function pg_temp.seen()`,
	} {
		if _, err := attacker.Exec(ctx, q); err != nil {
			t.Fatalf("as authenticated: %.60s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		_, _ = db.Admin.Exec(context.Background(), `drop trigger if exists `+trig+` on net._http_response`)
	})

	// Any request will do: the trigger is not the scheduler's business (invoke() refuses to queue while it
	// is there).
	var id int64
	if err := db.Conn.QueryRow(ctx, `select net.http_post($1, '{}'::jsonb)`, fn.srv.URL+"/any").Scan(&id); err != nil {
		t.Fatal(err)
	}
	awaitResponse(t, db, id)
	var session, current string
	var reads bool
	if err := db.Admin.QueryRow(ctx, `select session_role, acting_role, reads_vault from `+seen+` where id = $1`, id).
		Scan(&session, &current, &reads); err != nil {
		t.Fatalf("the trigger did not run in pg_net's worker: %v", err)
	}
	if session != want || current != want {
		t.Errorf("the worker's trigger ran with session user %s and current user %s, want %s (pg_net.username)", session, current, want)
	}
	// Whoever the worker is, the trigger had its rights: the superuser's, or on Supabase postgres's, Vault's reader.
	if want == "postgres" || super {
		if !reads {
			t.Errorf("code in the worker, as %s, could not read vault.decrypted_secrets: docs/security.md says it can", want)
		}
	}
}

// The stand-in worker, as pg_net's, sends only what is queued in the database pg_net.database_name names.
func TestStandInWorkerServesOneDatabase(t *testing.T) {
	dbURL, conn := withStandIns(t)
	storeSecrets(t, conn, "http://127.0.0.1:9/scheduler", "the-secret-"+randomHex(t, 8))
	id, _, _ := invokeQueued(t, conn, `select scheduler.invoke()`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := deliver(ctx, connect(t, workerURL(t, dbURL)), id); err != errNotServed {
		t.Errorf("delivering from a database pg_net does not serve: %v, want %v", err, errNotServed)
	}
}
