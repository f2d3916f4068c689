package supabase_test

import (
	"context"
	"testing"
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
