package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// dryRunJob names verify's call in the function's report (trigger cron:verify) and in scheduler.invocations.
const dryRunJob = "verify"

// checkDryRun takes the real path: scheduler.invoke() reads Vault and queues a signed dry-run POST with pg_net;
// the check waits for pg_net's answer to that request id and explains a failure.
func checkDryRun(ctx context.Context, t Target) Result {
	r := Result{ID: "11", Title: "a dry run through scheduler.invoke() and pg_net gets 200 with a report"}
	return withConn(ctx, t, r, func(c *pgx.Conn) Result { return dryRunResult(ctx, c, r, t.AnswerWait) })
}

func dryRunResult(ctx context.Context, conn *pgx.Conn, r Result, wait time.Duration) Result {
	var hasDryRun bool
	if err := conn.QueryRow(ctx, `select exists (select 1 from pg_proc p where p.pronamespace = to_regnamespace('scheduler')
		and p.proname = 'invoke' and 'dry_run' = any (p.proargnames))`).Scan(&hasDryRun); err != nil {
		return r.fail("querying the database: %v", err)
	}
	if !hasDryRun {
		return r.fail("scheduler.invoke() has no dry_run argument: apply the migrations (verify never makes a real run)")
	}
	var id int64
	// Committed at once (autocommit): pg_net's worker only sees committed requests.
	err := conn.QueryRow(ctx, `select scheduler.invoke(job => $1, dry_run => true)`, dryRunJob).Scan(&id)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && strings.Contains(pgErr.Message, "Vault secret") {
			return r.fail("missing Vault entry: %s", strings.TrimPrefix(pgErr.Message, "scheduler.invoke: "))
		}
		return r.fail("scheduler.invoke() failed: %v", err)
	}
	deadline := time.Now().Add(wait)
	var (
		status   *int
		content  *string
		errMsg   *string
		timedOut *bool
	)
	for {
		err := conn.QueryRow(ctx, `select status_code, content, error_msg, timed_out from net._http_response
			where id = $1 and created >= (select max(queued_at) - interval '1 minute' from scheduler.invocations where request_id = $1)`, id).
			Scan(&status, &content, &errMsg, &timedOut)
		if err == nil {
			break
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return r.fail("reading pg_net's answer to request %d: %v", id, err)
		}
		if time.Now().After(deadline) {
			return r.fail("pg_net did not answer request %d within %s: its worker is not running, or pg_net.database_name names another database",
				id, wait.Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return r.fail("waiting for pg_net's answer: %v", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	body := ""
	if content != nil {
		body = excerpt([]byte(*content))
	}
	switch {
	case timedOut != nil && *timedOut:
		r.Evidence = fmt.Sprintf("request %d: timed out: %s", id, deref(errMsg))
		return r.fail("timeout: the function did not answer request %d within pg_net's timeout", id)
	case status == nil:
		r.Evidence = fmt.Sprintf("request %d: %s", id, deref(errMsg))
		return r.fail("the URL in Vault is unreachable from the database: %s", deref(errMsg))
	}
	r.Evidence = fmt.Sprintf("request %d: HTTP %d\n%s", id, *status, body)
	switch {
	case *status == http.StatusUnauthorized:
		return r.fail("the Vault secret does not match the function's secret (HTTP 401)")
	case *status != http.StatusOK:
		return r.fail("the function answered HTTP %d, want 200", *status)
	}
	var rep report
	if err := json.Unmarshal([]byte(deref(content)), &rep); err != nil {
		return r.fail("pg_net recorded 200 but the body is not a JSON report: %v", err)
	}
	if !rep.DryRun || !slices.Contains(goodStatuses, rep.Status) || rep.RunID == "" {
		return r.fail("invalid report: dry_run %t, status %q, run_id %q", rep.DryRun, rep.Status, rep.RunID)
	}
	return r.pass("pg_net request %d: 200, report %s (%s, trigger %s, dry run, %d scenarios)",
		id, rep.RunID, rep.Status, rep.Trigger, len(rep.Scenarios))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
