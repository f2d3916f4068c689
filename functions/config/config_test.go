package config_test

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/peermentor/scenario-scheduler/functions/config"
	"github.com/peermentor/scenario-scheduler/functions/wire"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const goodSecret = "config-test-secret-0123456789abcd"

func TestDefaults(t *testing.T) {
	c, err := config.Load(env(map[string]string{"DATABASE_URL": "postgres://u:p@localhost:5432/db", "SCHEDULER_SECRET": goodSecret,
		"PUSH_SENDER": "none"}))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.Deadline, c.Location.String(), c.LogLevel.String(), c.Pooler, wire.PostgresConfig(c).NoPreparedStatements, wire.PostgresConfig(c).Lazy}
	want := []any{30 * time.Second, "Europe/Oslo", "info", "none", false, true}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got)\n%s", d)
	}
	wantPresence := map[string]string{"DATABASE_URL": "set", "DATABASE_POOLER": "unset", "SCHEDULER_SECRET": "set",
		"SCHEDULER_SECRET_PREVIOUS": "unset", "SCHEDULER_DEADLINE": "unset", "SCHEDULER_TIMEZONE": "unset", "LOG_LEVEL": "unset",
		"PUSH_SENDER": "set", "FCM_PROJECT_ID": "unset", "FCM_SERVICE_ACCOUNT_JSON": "unset",
		"GOOGLE_APPLICATION_CREDENTIALS": "unset", "FCM_ENDPOINT": "unset"}
	if d := cmp.Diff(wantPresence, c.Presence()); d != "" {
		t.Fatalf("presence (-want +got)\n%s", d)
	}
}

func TestAllSet(t *testing.T) {
	c, err := config.Load(env(map[string]string{
		"DATABASE_URL": "postgres://u:p@db.example.supabase.co:6543/postgres", "DATABASE_POOLER": "transaction",
		"SCHEDULER_SECRET": goodSecret, "SCHEDULER_SECRET_PREVIOUS": goodSecret + "-old",
		"SCHEDULER_DEADLINE": "20s", "SCHEDULER_TIMEZONE": "UTC", "LOG_LEVEL": "DEBUG", "PUSH_SENDER": "FCM",
	}))
	if err != nil {
		t.Fatal(err)
	}
	h := wire.HTTPConfig(c, nil)
	got := []any{c.Deadline, c.Location.String(), c.LogLevel.String(), wire.PostgresConfig(c).NoPreparedStatements, h.Secret, h.PreviousSecret, h.Budget}
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
		"PUSH_SENDER": "apns",
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
	for _, name := range []string{"DATABASE_URL is required", "SCHEDULER_SECRET is required", "SCHEDULER_DEADLINE", "PUSH_SENDER is required"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("want %q in %v", name, err)
		}
	}
}

// required is a valid environment apart from the push variables.
func required(push map[string]string) map[string]string {
	m := map[string]string{"DATABASE_URL": "postgres://u:p@localhost:5432/db", "SCHEDULER_SECRET": goodSecret}
	maps.Copy(m, push)
	return m
}

// TestPushSenderIsAChoice: a deployment must choose fcm or none; the log sender (which marks pushes sent
// without sending them) and an unset variable are refused, in the same error as the rest.
func TestPushSenderIsAChoice(t *testing.T) {
	for _, v := range []string{"", "log", "off", "apns"} {
		_, err := config.Load(env(required(map[string]string{"PUSH_SENDER": v})))
		if err == nil || !strings.Contains(err.Error(), "PUSH_SENDER ") {
			t.Errorf("PUSH_SENDER=%q: %v, want an error naming PUSH_SENDER", v, err)
		}
	}
	_, err := config.Load(env(map[string]string{"PUSH_SENDER": "log", "LOG_LEVEL": "loud"}))
	for _, name := range []string{"DATABASE_URL", "LOG_LEVEL", "PUSH_SENDER"} {
		if err == nil || !strings.Contains(err.Error(), name+" ") {
			t.Errorf("one error names %s: %v", name, err)
		}
	}

	c, err := config.Load(env(required(map[string]string{"PUSH_SENDER": "none"})))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := wire.EngineOptions(context.Background(), c, nil)
	if err != nil || opts.Sender != nil || !opts.Delivery.Off {
		t.Errorf("none: sender %T, off %t, %v; want no sender and delivery off", opts.Sender, opts.Delivery.Off, err)
	}
}

// TestPushVariablesChecked: with fcm, every bad push variable is named in Load's one error, with no value.
func TestPushVariablesChecked(t *testing.T) {
	values := map[string]string{
		"PUSH_SENDER": "fcm", "FCM_PROJECT_ID": "Not A Project!", "FCM_ENDPOINT": "ftp://fcm.example",
		"FCM_SERVICE_ACCOUNT_JSON": `{"type": "authorized_user", "refresh_token": "rt-secret"}`,
	}
	_, err := config.Load(env(required(values)))
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"FCM_PROJECT_ID", "FCM_ENDPOINT", "FCM_SERVICE_ACCOUNT_JSON"} {
		if !strings.Contains(err.Error(), name+" ") {
			t.Errorf("%s not named in: %v", name, err)
		}
	}
	for _, v := range []string{"Not A Project!", "ftp://", "rt-secret", "authorized_user"} {
		if strings.Contains(err.Error(), v) {
			t.Errorf("value %q shown in: %v", v, err)
		}
	}

	missing := filepath.Join(t.TempDir(), "key.json")
	_, err = config.Load(env(required(map[string]string{"PUSH_SENDER": "fcm", "GOOGLE_APPLICATION_CREDENTIALS": missing})))
	if err == nil || !strings.Contains(err.Error(), "GOOGLE_APPLICATION_CREDENTIALS ") || strings.Contains(err.Error(), missing) {
		t.Errorf("unreadable key file: %v", err)
	}
}

// TestSources: every variable is reported with where its value came from - the environment, the
// scheduler's default, or nowhere - and never with its value.
func TestSources(t *testing.T) {
	values := map[string]string{"DATABASE_URL": "postgres://u:very-secret-pw@localhost:5432/db", "SCHEDULER_SECRET": goodSecret,
		"PUSH_SENDER": "none", "SCHEDULER_TIMEZONE": "Asia/Tokyo", "LOG_LEVEL": "  "}
	c, err := config.Load(env(values))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"DATABASE_URL": "environment", "DATABASE_POOLER": "default", "SCHEDULER_SECRET": "environment",
		"SCHEDULER_SECRET_PREVIOUS": "unset", "SCHEDULER_DEADLINE": "default", "SCHEDULER_TIMEZONE": "environment",
		// Blank is unset: the default applies.
		"LOG_LEVEL":   "default",
		"PUSH_SENDER": "environment", "FCM_PROJECT_ID": "default", "FCM_SERVICE_ACCOUNT_JSON": "unset",
		"GOOGLE_APPLICATION_CREDENTIALS": "unset", "FCM_ENDPOINT": "default"}
	if d := cmp.Diff(want, c.Sources()); d != "" {
		t.Fatalf("sources (-want +got)\n%s", d)
	}
	line := c.SourcesLine()
	if !strings.HasPrefix(line, "DATABASE_URL=environment DATABASE_POOLER=default SCHEDULER_SECRET=environment ") ||
		!strings.HasSuffix(line, " FCM_ENDPOINT=default") {
		t.Errorf("line %q: want every variable in Names' order", line)
	}
	for _, v := range []string{"very-secret-pw", goodSecret, "Asia/Tokyo", "none"} {
		if strings.Contains(line, v) || strings.Contains(strings.Join(slices.Collect(maps.Values(c.Sources())), " "), v) {
			t.Errorf("a value (%q) shows in the sources", v)
		}
	}
	if got := len(c.Sources()); got != len(config.Names) {
		t.Errorf("%d variables reported, want every one of Names (%d)", got, len(config.Names))
	}
}
