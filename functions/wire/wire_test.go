package wire_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/peermentor/scenario-scheduler/adapters/fcm/fcmtest"
	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/functions/config"
	"github.com/peermentor/scenario-scheduler/functions/wire"
	"github.com/peermentor/scenario-scheduler/infra/dev/proctest"
)

const secret = "wire-test-secret-0123456789abcdef0123"

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// noon is a fixed clock outside the default quiet hours (21:00-07:00 in Oslo), so pushes are not held.
func noon(day time.Time) wire.Option {
	return wire.Engine(func(o *engine.Options) { o.Now = func() time.Time { return day.Add(12 * time.Hour) } })
}

// post invokes h as pg_net does and decodes the report.
func post(t *testing.T, url string) engine.Report {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(httpfn.SecretHeader, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var rep engine.Report
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST: HTTP %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestNewRunsWhatIsConfigured: the handler New returns evaluates, writes notifications and delivers them
// through the sender the configuration names (the log sender marks them sent), or, with PUSH_SENDER=none,
// reports delivery off and leaves them pending.
func TestNewRunsWhatIsConfigured(t *testing.T) {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		sender string
		want   engine.Status
	}{{config.SenderLog, engine.Completed}, {config.SenderNone, engine.Off}} {
		t.Run(tc.sender, func(t *testing.T) {
			db := pgtest.NewDatabase(t)
			c := config.Config{DatabaseURL: db, Secret: secret, Deadline: engine.DefaultBudget, Push: config.Push{Sender: tc.sender}}
			s, err := wire.New(context.Background(), c, nil, noon(day), wire.Store(func(p *postgres.Config) { p.Lazy = false }))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if (s.Sender == nil) != (tc.sender == config.SenderNone) {
				t.Fatalf("sender %T for PUSH_SENDER=%s", s.Sender, tc.sender)
			}
			ctx := context.Background()
			if err := pgtest.Populate(ctx, s.Store.Pool(), 40, day); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Store.Pool().Exec(ctx, `insert into public.device_tokens (user_id, token, platform)
				select id, 'tok-' || id, 'android' from public.peer_mentors`); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(s.Handler)
			defer srv.Close()

			rep := post(t, srv.URL)
			if rep.Status != engine.Completed || rep.EvaluationDate != day.Format(engine.DateLayout) || rep.Totals().Notified == 0 {
				t.Fatalf("run %s on %s with %d notifications; want completed on %s with some", rep.Status,
					rep.EvaluationDate, rep.Totals().Notified, day.Format(engine.DateLayout))
			}
			if rep.Delivery == nil || rep.Delivery.Status != tc.want {
				t.Fatalf("delivery %+v, want %s", rep.Delivery, tc.want)
			}
			var sent, pending int
			if err := s.Store.Pool().QueryRow(ctx, `select count(*) filter (where status = 'sent'),
				count(*) filter (where status = 'pending') from public.notifications`).Scan(&sent, &pending); err != nil {
				t.Fatal(err)
			}
			if tc.sender == config.SenderLog && (sent == 0 || sent != rep.Delivery.Sent) {
				t.Errorf("log sender: %d sent in the database, %d in the report; want the same, above 0", sent, rep.Delivery.Sent)
			}
			if tc.sender == config.SenderNone && (sent != 0 || pending != rep.Totals().Notified) {
				t.Errorf("none: %d sent, %d pending; want 0 and %d", sent, pending, rep.Totals().Notified)
			}
		})
	}
}

// TestNewRefusesBrokenTemplates: a push template naming an unknown field is a configuration error found at
// start, by the check New starts in the background.
func TestNewRefusesBrokenTemplates(t *testing.T) {
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	store, err := postgres.Open(ctx, postgres.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Pool().Exec(ctx, `with o as (insert into public.organisations (name) values ('Malforeningen') returning id)
		insert into scheduler.scenario_config (scenario, organisation_id, params) select 'inactivity', id,
		'{"templates": {"en": {"title": "Hi {{.Nickname}}", "body": "Come back"}}}' from o`); err != nil {
		t.Fatal(err)
	}
	c := config.Config{DatabaseURL: db, Secret: secret, Push: config.Push{Sender: config.SenderLog}}
	s, err := wire.New(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.TemplatesChecked(ctx)
	if err == nil {
		t.Fatal("the start-up check accepted a broken push template")
	}
	if !strings.Contains(err.Error(), "push templates") || !strings.Contains(err.Error(), "Nickname") {
		t.Errorf("error %v, want one naming the push templates and the field", err)
	}
}

// TestNewWithTheDatabaseDown: a cold start succeeds while the database is down (the pool connects lazily)
// and requests answer 503 until it is back.
func TestNewWithTheDatabaseDown(t *testing.T) {
	c, err := config.Load(env(map[string]string{config.DatabaseURL: "postgres://scheduler@" + proctest.RefusingAddr(t) +
		"/postgres?connect_timeout=2", config.Secret: secret, config.PushSender: config.SenderNone}))
	if err != nil {
		t.Fatal(err)
	}
	s, err := wire.New(context.Background(), c, nil)
	if err != nil {
		t.Fatalf("cold start with the database down: %v", err)
	}
	defer s.Close()
	srv := httptest.NewServer(s.Handler)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(httpfn.SecretHeader, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("HTTP %d with the database down, want 503", res.StatusCode)
	}
}

// TestFCMSenderFromEnvironment: fcm with a key sends through the configured endpoint.
func TestFCMSenderFromEnvironment(t *testing.T) {
	srv := fcmtest.New(t)
	c, err := config.Load(env(map[string]string{config.DatabaseURL: "postgres://u:p@localhost:5432/db", config.Secret: secret, "PUSH_SENDER": "fcm",
		"FCM_SERVICE_ACCOUNT_JSON": string(srv.CredentialsJSON()), "FCM_ENDPOINT": srv.URL}))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := wire.EngineOptions(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := opts.Sender.Send(ctx, engine.Message{NotificationID: 1, Token: "tok-env", Title: "t", Body: "b"}); err != nil {
		t.Fatalf("sender from the environment: %v", err)
	}
	if got := len(srv.Delivered()["tok-env"]); got != 1 {
		t.Errorf("%d pushes delivered, want 1", got)
	}
}

// TestConfigurationReported: the cold start logs every configuration variable with where its value came
// from, and a dry run answers the same, while a real run does not; no value shows in either.
func TestConfigurationReported(t *testing.T) {
	db := pgtest.NewDatabase(t)
	c, err := config.Load(env(map[string]string{config.DatabaseURL: db, config.Secret: secret,
		config.PushSender: config.SenderNone, config.Timezone: "Europe/Oslo"}))
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	s, err := wire.New(context.Background(), c, zap.New(core), wire.Store(func(p *postgres.Config) { p.Lazy = false }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := pgtest.Populate(context.Background(), s.Store.Pool(), 20, time.Now().UTC().Truncate(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	cold := logs.FilterMessage("configuration").All()
	if len(cold) != 1 {
		t.Fatalf("%d cold-start configuration lines, want 1", len(cold))
	}
	line := cold[0].ContextMap()["variables"]
	if line != c.SourcesLine() || !strings.Contains(c.SourcesLine(), "SCHEDULER_SECRET=environment") ||
		!strings.Contains(c.SourcesLine(), "SCHEDULER_DEADLINE=default") {
		t.Errorf("cold start logged %q, want %q", line, c.SourcesLine())
	}
	srv := httptest.NewServer(s.Handler)
	defer srv.Close()
	for _, dry := range []bool{true, false} {
		body := fmt.Sprintf(`{"dry_run": %t}`, dry)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(httpfn.SecretHeader, secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", body, res.StatusCode, raw)
		}
		var rep engine.Report
		if err := json.Unmarshal(raw, &rep); err != nil {
			t.Fatal(err)
		}
		switch {
		case dry && !maps.Equal(rep.Configuration, c.Sources()):
			t.Errorf("dry run answered configuration %v, want %v", rep.Configuration, c.Sources())
		case !dry && rep.Configuration != nil:
			t.Errorf("a real run answered configuration %v, want none", rep.Configuration)
		}
		for _, v := range []string{secret, db} {
			if strings.Contains(string(raw), v) {
				t.Errorf("%s: the answer shows a value", body)
			}
		}
	}
}
