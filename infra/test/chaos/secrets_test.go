package chaos_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
)

// TestSecretHygiene runs the built function with debug logging through a full run, signed and raw-secret
// calls and rejected ones, then looks for the secret and the signatures everywhere they could leak: the
// log, the answers, and every row of every table of the project's database and of pg_cron's.
func TestSecretHygiene(t *testing.T) {
	url := pgtest.NewDatabase(t)
	tg := populated(t, url, 500)
	p := startFunction(t, url, "LOG_LEVEL=debug") // the later LOG_LEVEL wins
	defer p.kill()
	base := p.url

	const callBody = `{"trigger":"cron","job":"hygiene"}`
	sig := signature(secret, time.Now(), callBody)
	wrongSig := signature(strings.Repeat("w", len(secret)), time.Now(), callBody)
	calls := []map[string]string{
		{httpfn.TimestampHeader: sig.Timestamp, httpfn.NonceHeader: sig.Nonce, httpfn.SignatureHeader: sig.Value}, // the cron path: a full run
		{httpfn.SecretHeader: secret},                       // a manual call: already completed
		{httpfn.SecretHeader: secret[:len(secret)-1] + "?"}, // a wrong secret
		{httpfn.TimestampHeader: wrongSig.Timestamp, httpfn.NonceHeader: wrongSig.Nonce, httpfn.SignatureHeader: wrongSig.Value}, // a wrong signature
	}
	var answers bytes.Buffer
	for i, h := range calls {
		req, _ := http.NewRequest(http.MethodPost, base, strings.NewReader(callBody))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		answers.Write(body)
		if want := []int{200, 200, 401, 401}[i]; res.StatusCode != want {
			t.Fatalf("call %d: %d, want %d: %s", i+1, res.StatusCode, want, body)
		}
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	_ = p.Wait()
	logs := p.Out

	secrets := map[string]string{"the secret": secret, "the signature": strings.TrimPrefix(sig.Value, "v2="),
		"the wrong signature": strings.TrimPrefix(wrongSig.Value, "v2=")}
	if !strings.Contains(logs.String(), `"level":"debug"`) && !strings.Contains(logs.String(), `"level":"DEBUG"`) {
		t.Fatalf("no debug line in the log: the test did not see debug logging\n%s", logs.String())
	}
	if where := findInTables(t, url, "Population"); where != "public.organisations" {
		t.Fatalf("the table scan does not find a known value (found it in %q)", where)
	}
	for what, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("%s appears in the log", what)
		}
		if strings.Contains(answers.String(), s) {
			t.Errorf("%s appears in an answer", what)
		}
		for _, db := range []string{url, cluster.URL()} { // the project's database, and pg_cron's
			if where := findInTables(t, db, s); where != "" {
				t.Errorf("%s appears in table %s", what, where)
			}
		}
	}
	var notified int
	if err := tg.pool.QueryRow(context.Background(), `select count(*) from public.notifications`).Scan(&notified); err != nil || notified == 0 {
		t.Fatalf("the full run notified %d mentors (%v): the test did not run the scheduler", notified, err)
	}
}

// findInTables returns the first table of db with a row whose text contains s, or "".
func findInTables(t *testing.T, db, s string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `select format('%I.%I', table_schema, table_name) from information_schema.tables
		where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		var found bool
		if err := conn.QueryRow(ctx, `select exists (select 1 from `+table+` t where t::text like '%' || $1 || '%')`, s).Scan(&found); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if found {
			return table
		}
	}
	return ""
}
