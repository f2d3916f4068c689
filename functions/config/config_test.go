package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/peermentor/scenario-scheduler/functions/config"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const goodSecret = "config-test-secret-0123456789abcd"

func TestDefaults(t *testing.T) {
	c, err := config.Load(env(map[string]string{"DATABASE_URL": "postgres://u:p@localhost:5432/db", "SCHEDULER_SECRET": goodSecret}))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.Deadline, c.Location.String(), c.LogLevel.String(), c.Pooler, c.Postgres().NoPreparedStatements, c.Postgres().Lazy}
	want := []any{30 * time.Second, "Europe/Oslo", "info", "none", false, true}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got)\n%s", d)
	}
	wantPresence := map[string]string{"DATABASE_URL": "set", "DATABASE_POOLER": "unset", "SCHEDULER_SECRET": "set",
		"SCHEDULER_SECRET_PREVIOUS": "unset", "SCHEDULER_DEADLINE": "unset", "SCHEDULER_TIMEZONE": "unset", "LOG_LEVEL": "unset",
		"PUSH_SENDER": "unset", "FCM_PROJECT_ID": "unset", "FCM_SERVICE_ACCOUNT_JSON": "unset",
		"GOOGLE_APPLICATION_CREDENTIALS": "unset", "FCM_ENDPOINT": "unset"}
	if d := cmp.Diff(wantPresence, c.Presence()); d != "" {
		t.Fatalf("presence (-want +got)\n%s", d)
	}
}

func TestAllSet(t *testing.T) {
	c, err := config.Load(env(map[string]string{
		"DATABASE_URL": "postgres://u:p@db.example.supabase.co:6543/postgres", "DATABASE_POOLER": "transaction",
		"SCHEDULER_SECRET": goodSecret, "SCHEDULER_SECRET_PREVIOUS": goodSecret + "-old",
		"SCHEDULER_DEADLINE": "20s", "SCHEDULER_TIMEZONE": "UTC", "LOG_LEVEL": "DEBUG",
	}))
	if err != nil {
		t.Fatal(err)
	}
	h := c.HTTP(nil)
	got := []any{c.Deadline, c.Location.String(), c.LogLevel.String(), c.Postgres().NoPreparedStatements, h.Secret, h.PreviousSecret, h.Budget}
	want := []any{20 * time.Second, "UTC", "debug", true, goodSecret, goodSecret + "-old", 20 * time.Second}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got)\n%s", d)
	}
}

// TestEveryProblemNamedNoValueShown: one error lists every bad variable and none of the values.
func TestEveryProblemNamedNoValueShown(t *testing.T) {
	values := map[string]string{
		"DATABASE_URL": "postgres://u:pass-in-url@host:notaport/db", "DATABASE_POOLER": "sometimes",
		"SCHEDULER_SECRET": "short-secret", "SCHEDULER_SECRET_PREVIOUS": "short-old-secret",
		"SCHEDULER_DEADLINE": "16m", "SCHEDULER_TIMEZONE": "Europe/Atlantis", "LOG_LEVEL": "verbose",
	}
	_, err := config.Load(env(values))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for name, value := range values {
		if !strings.Contains(msg, name+" ") {
			t.Errorf("%s not named in: %s", name, msg)
		}
		if strings.Contains(msg, value) {
			t.Errorf("the value of %s shown in: %s", name, msg)
		}
	}

	_, err = config.Load(env(map[string]string{"SCHEDULER_DEADLINE": "500ms"}))
	for _, name := range []string{"DATABASE_URL is required", "SCHEDULER_SECRET is required", "SCHEDULER_DEADLINE"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("want %q in %v", name, err)
		}
	}
}
