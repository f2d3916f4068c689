package supabase_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// served is the database pg_net's worker serves (pg_net.database_name, default postgres), migrated, with
// pg_net and Vault (real or stand-ins), held by one test at a time.
type served struct {
	URL    string    // as DATABASE_URL's role
	Conn   *pgx.Conn // as DATABASE_URL's role, the owner of scheduler.invoke()
	Admin  *pgx.Conn // as the administrative role, which owns pg_net and Vault (or their stand-ins)
	Worker *pgx.Conn // as the role pg_net's worker connects as (pg_net.username): the stand-in worker's
}

// servedLock serialises the tests (of every package) that use the served database: its Vault secrets and
// pg_net's queue are shared.
const servedLock = `select pg_advisory_lock(hashtext('scheduler tests: the database pg_net serves'))`

// servedDatabase migrates the database pg_net's worker serves and loads the stand-ins there (as the
// administrative role) where the real extensions are missing. It holds a lock until the test ends, when it
// removes the stand-ins it loaded and the Vault secrets the test stored.
func servedDatabase(t *testing.T) served {
	t.Helper()
	ctx := context.Background()
	server := pgtest.ServerURL(t)
	first := connect(t, server)
	var name string
	if err := first.QueryRow(ctx, `select coalesce(nullif(current_setting('pg_net.database_name', true), ''), 'postgres')`).
		Scan(&name); err != nil {
		t.Fatal(err)
	}
	dbURL, err := postgres.WithDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	s := served{URL: dbURL, Conn: connect(t, dbURL), Admin: connect(t, pgtest.AdminURL(t, dbURL)), Worker: connect(t, workerURL(t, dbURL))}
	lock := connect(t, dbURL)
	if _, err := lock.Exec(ctx, servedLock); err != nil {
		t.Fatal(err)
	}
	ms, err := postgres.LoadMigrations(supabase.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Migrate(ctx, s.Conn, ms); err != nil {
		t.Fatalf("migrating the database pg_net serves: %v", err)
	}
	var hadNet, hadVault bool
	var started time.Time
	if err := s.Admin.QueryRow(ctx, `select to_regnamespace('net') is not null, to_regnamespace('vault') is not null, clock_timestamp()`).
		Scan(&hadNet, &hadVault, &started); err != nil {
		t.Fatal(err)
	}
	loadStandIns(t, s.Admin)
	t.Cleanup(func() {
		ctx := context.Background()
		cleanup := []string{}
		if !hadVault {
			cleanup = append(cleanup, `drop schema if exists vault cascade`)
		} else {
			cleanup = append(cleanup, fmt.Sprintf(`delete from vault.secrets where name like 'scenario_scheduler_%%' and created_at >= '%s'`,
				started.Format(time.RFC3339Nano)))
		}
		if !hadNet {
			cleanup = append(cleanup, `drop schema if exists net cascade`)
		}
		for _, q := range cleanup {
			if _, err := s.Admin.Exec(ctx, q); err != nil {
				t.Errorf("cleaning the database pg_net serves: %s: %v", q, err)
			}
		}
		_, _ = lock.Exec(ctx, `select pg_advisory_unlock_all()`)
	})
	return s
}

// response is what net._http_response recorded for one request.
type response struct {
	Status  int
	Content string
}

// awaitResponse returns the answer to pg_net request id. With the stand-in it plays pg_net's worker: it
// sends the queued request and records the answer as the worker would, as the worker's role. With the real
// pg_net it waits for the worker.
func awaitResponse(t *testing.T, db served, id int64) response {
	t.Helper()
	ctx := context.Background()
	if !realExtension(t, db.Conn, "pg_net") {
		if err := deliver(ctx, db.Worker, id); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var r response
		err := db.Conn.QueryRow(ctx, `select coalesce(status_code, 0), coalesce(content, error_msg, '') from net._http_response where id = $1`, id).
			Scan(&r.Status, &r.Content)
		if err == nil {
			return r
		}
		if !errors.Is(err, pgx.ErrNoRows) || time.Now().After(deadline) {
			t.Fatalf("waiting for pg_net's answer to request %d: %v", id, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// errNotServed says that a request waits in a database pg_net's worker does not serve: it is never sent.
var errNotServed = errors.New("pg_net's worker does not serve this database (pg_net.database_name): the request is never sent")

// workerRole is an SQL expression for the role pg_net's worker connects as: pg_net.username, or where that is
// unset pg_net's default, the bootstrap superuser (the role initdb made, OID 10). Hosted Supabase sets it to
// postgres, and so does localpg; the real pg_net reads it once, when its worker starts.
const workerRole = `coalesce(nullif(pg_catalog.current_setting('pg_net.username', true), ''),
	(select r.rolname from pg_catalog.pg_roles r where r.oid = 10))::text`

// workerURL returns a URL for dbURL's database as the role pg_net's worker connects as: dbURL itself when it
// is that role's, the administrator's URL when it is the administrator's, and otherwise the administrator's
// URL with that user and no password (localpg's clusters trust connections from 127.0.0.1).
func workerURL(t *testing.T, dbURL string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer conn.Close(ctx)
	var role, user string
	if err := conn.QueryRow(ctx, `select `+workerRole+`, session_user::text`).Scan(&role, &user); err != nil {
		t.Fatal(err)
	}
	if role == user {
		return dbURL
	}
	admin, err := url.Parse(pgtest.AdminURL(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	if admin.User.Username() != role {
		admin.User = url.User(role)
	}
	return admin.String()
}

// deliver sends queued request id over HTTP and records the answer, as pg_net's worker does: through
// worker, a connection as the role the worker connects as (workerURL: pg_net.username), so that a trigger on
// pg_net's tables runs as that role, and only in the database the worker serves.
func deliver(ctx context.Context, worker *pgx.Conn, id int64) error {
	var (
		servedHere, asWorker bool
		role                 string
	)
	err := worker.QueryRow(ctx, `select current_database() = coalesce(nullif(current_setting('pg_net.database_name', true), ''), 'postgres'),
		session_user = `+workerRole+`, `+workerRole).Scan(&servedHere, &asWorker, &role)
	if err != nil {
		return err
	}
	if !servedHere {
		return errNotServed
	}
	if !asWorker {
		return fmt.Errorf("pg_net's worker connects as %s (pg_net.username), and so must the stand-in's: connect with workerURL", role)
	}
	return send(ctx, worker, id)
}

// send is the worker's part of deliver without its checks: it takes request id from the queue, sends it and
// records the answer, through worker. deliver is for the database pg_net serves; send alone is for a test
// whose function shares a fresh database with the requests' queue (the real worker never sends from it).
func send(ctx context.Context, worker *pgx.Conn, id int64) error {
	var (
		method, target string
		headers        map[string]string
		body           []byte
		timeoutMS      int
	)
	err := worker.QueryRow(ctx, `delete from net.http_request_queue where id = $1
	                             returning method, url, headers, body, timeout_milliseconds`, id).
		Scan(&method, &target, &headers, &body, &timeoutMS)
	if err != nil {
		return fmt.Errorf("taking request %d from the queue: %w", id, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: time.Duration(timeoutMS) * time.Millisecond}
	resp, err := client.Do(req)
	if err != nil {
		_, err2 := worker.Exec(ctx, `insert into net._http_response (id, error_msg, timed_out) values ($1, $2, false)`, id, err.Error())
		return err2
	}
	defer resp.Body.Close()
	content, _ := io.ReadAll(resp.Body)
	_, err = worker.Exec(ctx, `insert into net._http_response (id, status_code, content_type, content, timed_out)
	                           values ($1, $2, $3, $4, false)`, id, resp.StatusCode, resp.Header.Get("Content-Type"), string(content))
	return err
}
