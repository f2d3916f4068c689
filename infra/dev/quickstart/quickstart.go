package quickstart

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/functions/config"
	"github.com/peermentor/scenario-scheduler/functions/wire"
	"github.com/peermentor/scenario-scheduler/infra/dev/status"
	"github.com/peermentor/scenario-scheduler/supabase"
)

// Result is what the demo did: the reports of its two invocations, and the effectiveness report over a
// simulated history (history.sql).
type Result struct {
	First, Second engine.Report
	Effects       []status.Effect
}

// history is a simulated past for the effectiveness line: an organisation with a holdout, its nudges and
// the activities that followed them. Loaded after the two calls, so their reports stay the seed's.
//
//go:embed history.sql
var history string

// Run performs the demo against databaseURL, writing a readable account to out. Logs go to log (JSON).
func Run(ctx context.Context, databaseURL string, out io.Writer, log *zap.Logger) (Result, error) {
	var res Result
	fmt.Fprintf(out, "Scenario scheduler: quick start\n\n  database    %s\n", postgres.RedactURL(databaseURL))

	if err := prepare(ctx, databaseURL, out); err != nil {
		return res, err
	}

	// Wired as every entry point wires it (functions/wire). The log sender stands in for Firebase locally:
	// it records each push in the log instead of sending it.
	secret := randomSecret()
	cfg := config.Config{DatabaseURL: databaseURL, Secret: secret, Deadline: engine.DefaultBudget,
		Push: config.Push{Sender: config.SenderLog}}
	s, err := wire.New(ctx, cfg, log, wire.Store(func(c *postgres.Config) { c.Lazy = false }))
	if err != nil {
		return res, fmt.Errorf("connecting: %w", err)
	}
	defer s.Close()
	handler := s.Handler

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // Shutdown below ends it.
	defer srv.Shutdown(context.WithoutCancel(ctx))
	endpoint := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(out, "  function    %s (plain HTTP adapter, shared-secret auth)\n\n", endpoint)

	// The call the daily job makes (scenario-scheduler-daily, the default schedule): no slot, every
	// organisation, today in the function's time zone (SCHEDULER_TIMEZONE, default Europe/Oslo).
	body, what := `{}`, "the daily job's call (the whole project, today in Europe/Oslo)"
	if res.First, err = invoke(ctx, out, "1: "+what, endpoint, secret, body); err != nil {
		return res, err
	}
	if res.Second, err = invoke(ctx, out, "2: the same call again (a retry, or the job's next call)", endpoint, secret, body); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "The second call created %d notifications: each is created at most once.\n", res.Second.Totals().Notified)
	if res.Effects, err = effectiveness(ctx, databaseURL); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "\nWith a simulated history (an organisation with a 20 %% inactivity holdout; go tool task status -- --effectiveness):\n%s\n",
		status.EffectivenessLine(res.Effects))
	return res, nil
}

// effectiveness loads the simulated history and reads scheduler.effectiveness over the last 12 weeks.
func effectiveness(ctx context.Context, databaseURL string) ([]status.Effect, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close(ctx)
	if err := postgres.ApplySQL(ctx, conn, history); err != nil {
		return nil, fmt.Errorf("loading the simulated history: %w", err)
	}
	var today time.Time
	if err := conn.QueryRow(ctx, `select (now() at time zone 'Europe/Oslo')::date`).Scan(&today); err != nil {
		return nil, err
	}
	return status.ReadEffectiveness(ctx, conn, today.AddDate(0, 0, -7*12), today, time.Time{})
}

// prepare applies the migrations and loads the demo seed.
func prepare(ctx context.Context, databaseURL string, out io.Writer) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close(ctx)
	ms, err := postgres.LoadMigrations(supabase.Migrations)
	if err != nil {
		return err
	}
	applied, err := postgres.Migrate(ctx, conn, ms)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  migrations  %d in supabase/migrations, %d applied now\n", len(ms), len(applied))
	// The reference app and its source mapping: the quick start's stand-in for an organisation's own app.
	if err := postgres.ApplySQL(ctx, conn, supabase.Reference()); err != nil {
		return fmt.Errorf("loading the reference app schema: %w", err)
	}
	if err := postgres.ApplySQL(ctx, conn, supabase.Seed); err != nil {
		return fmt.Errorf("loading the demo seed: %w", err)
	}
	var orgs, mentors, active, acts, certs int
	err = conn.QueryRow(ctx, `select (select count(*) from public.organisations),
		(select count(*) from public.peer_mentors), (select count(*) from public.peer_mentors where status = 'active'),
		(select count(*) from public.activities), (select count(*) from public.certifications)`).
		Scan(&orgs, &mentors, &active, &acts, &certs)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  demo data   %d organisations, %d mentors (%d active), %d activities, %d certifications\n",
		orgs, mentors, active, acts, certs)
	var jobs string
	var hasCron bool
	if err := conn.QueryRow(ctx, `select to_regclass('cron.job') is not null`).Scan(&hasCron); err != nil {
		return err
	}
	if hasCron {
		if err := conn.QueryRow(ctx, `select coalesce((select string_agg(jobname || ' ' || schedule, ', ' order by jobname)
			from cron.job where jobname like 'scenario-scheduler-%'), '')`).Scan(&jobs); err != nil {
			return err
		}
	}
	if jobs == "" {
		jobs = "none (pg_cron is not in this database; deployed, the migrations schedule scenario-scheduler-daily 0 6 * * *)"
	}
	fmt.Fprintf(out, "  cron job    %s\n", jobs)
	return nil
}

// invoke POSTs body as pg_net does (JSON content type, the secret header) and prints the report.
func invoke(ctx context.Context, out io.Writer, title, endpoint, secret, reqBody string) (engine.Report, error) {
	var rep engine.Report
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(reqBody))
	if err != nil {
		return rep, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(httpfn.SecretHeader, secret)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rep, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return rep, err
	}
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return rep, fmt.Errorf("invocation %s: HTTP %d: %s", title, resp.StatusCode, bytes.TrimSpace(body))
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		return rep, fmt.Errorf("invocation %s: the answer is not a report: %w", title, err)
	}
	fmt.Fprintf(out, "Invocation %s\n  POST %s -> %d in %d ms\n\n", title, endpoint, resp.StatusCode, took.Milliseconds())
	WriteReport(out, rep)
	fmt.Fprintln(out)
	return rep, nil
}

// WriteReport prints a report as a table.
func WriteReport(w io.Writer, rep engine.Report) {
	fmt.Fprintf(w, "  run %s   evaluation date %s   status %s   %d ms of a %.0f s budget\n\n",
		rep.RunID, rep.EvaluationDate, strings.ToUpper(string(rep.Status)), rep.DurationMS, float64(rep.BudgetMS)/1000)
	row := "  %-22s %-18s %9v %9v %9v %10v %8v %10v\n"
	fmt.Fprintf(w, row, "scenario", "status", "evaluated", "notified", "cooldown", "duplicates", "batches", "remaining")
	for _, s := range rep.Scenarios {
		fmt.Fprintf(w, row, s.Scenario, s.Status, s.Evaluated, s.Notified, s.SuppressedCooldown, s.Duplicates, s.Batches, s.Remaining)
	}
	t := rep.Totals()
	fmt.Fprintf(w, row, "total", "", t.Evaluated, t.Notified, t.SuppressedCooldown, t.Duplicates, t.Batches, t.Remaining)
	if d := rep.Delivery; d != nil {
		fmt.Fprintf(w, "\n  push delivery: %s in %d ms   sent %d, held for quiet hours %d, failed %d, retrying %d, pending left %d",
			d.Status, d.DurationMS, d.Sent, d.Held, d.Failed, d.Retrying, d.PendingLeft)
		for _, reason := range slices.Sorted(maps.Keys(d.Suppressed)) {
			fmt.Fprintf(w, ", suppressed (%s) %d", reason, d.Suppressed[reason])
		}
		fmt.Fprintln(w)
	}
	if t.HeldOut > 0 {
		fmt.Fprintf(w, "\n  held out (control group, no notification, no push): %d\n", t.HeldOut)
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
