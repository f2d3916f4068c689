package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap/zapcore"

	"github.com/peermentor/scenario-scheduler/engine"
)

// The environment variables the scheduler reads.
const (
	DatabaseURL     = "DATABASE_URL"
	DatabasePooler  = "DATABASE_POOLER"
	Secret          = "SCHEDULER_SECRET"
	PreviousSecret  = "SCHEDULER_SECRET_PREVIOUS"
	Deadline        = "SCHEDULER_DEADLINE"
	Timezone        = "SCHEDULER_TIMEZONE"
	LogLevel        = "LOG_LEVEL"
	MinSecretLength = 32

	// PushSender chooses the push sender: SenderFCM or SenderNone. Required: a deployment must say whether
	// it sends pushes.
	PushSender = "PUSH_SENDER"
	// FCMProjectID is the Firebase project id (default: the service account's project_id).
	FCMProjectID = "FCM_PROJECT_ID"
	// FCMServiceAccountJSON holds a service-account key's JSON itself (for secret stores that inject values).
	FCMServiceAccountJSON = "FCM_SERVICE_ACCOUNT_JSON"
	// FCMCredentialsFile is the path of a service-account key file (Google's standard variable). Without it
	// and without FCMServiceAccountJSON, the runtime's own service account is used (Google Cloud only).
	FCMCredentialsFile = "GOOGLE_APPLICATION_CREDENTIALS"
	// FCMEndpoint overrides FCM's base URL (an emulator or a test server).
	FCMEndpoint = "FCM_ENDPOINT"
)

// Names lists every variable, in the order /healthz shows them: the scheduler's own, then push delivery's.
var Names = []string{DatabaseURL, DatabasePooler, Secret, PreviousSecret, Deadline, Timezone, LogLevel,
	PushSender, FCMProjectID, FCMServiceAccountJSON, FCMCredentialsFile, FCMEndpoint}

// Push senders.
const (
	// SenderFCM sends through Firebase Cloud Messaging.
	SenderFCM = "fcm"
	// SenderNone sends nothing: notifications stay pending in the outbox (in-app only), and every run's
	// report says how many wait.
	SenderNone = "none"
	// SenderLog logs each push (without its text) and marks it sent. For the quick start, tests and the
	// benchmark only: Load never accepts it, a program sets it in Config.Push itself (the HTTP binary does
	// with its loopback-only -push-log flag).
	SenderLog = "log"
)

// PushSenders are the values of PUSH_SENDER that Load accepts (the Terraform roots accept the same).
var PushSenders = []string{SenderFCM, SenderNone}

// LogLevels are the values of LOG_LEVEL that Load accepts, in any case (the Terraform roots accept the same).
var LogLevels = []string{"debug", "info", "warn", "error"}

// firebaseProjectID is the form of a Google Cloud (Firebase) project id.
var firebaseProjectID = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)

// Deadline bounds: the product answers within 30 s (the cron job gives pg_net a longer timeout); a
// shorter platform timeout lowers the budget by itself.
const (
	DefaultDeadline = engine.DefaultBudget
	MinDeadline     = time.Second
	MaxDeadline     = engine.DefaultBudget
)

// Pooler values of DATABASE_POOLER.
const (
	PoolerNone        = "none"        // a direct connection (port 5432)
	PoolerSession     = "session"     // Supavisor in session mode: behaves like a direct connection
	PoolerTransaction = "transaction" // Supavisor on port 6543, PgBouncer in transaction mode: no prepared statements
)

// Config is the validated environment.
type Config struct {
	DatabaseURL    string
	Pooler         string
	Secret         string
	PreviousSecret string
	Deadline       time.Duration
	Location       *time.Location
	LogLevel       zapcore.Level
	// Push is the push sender's configuration.
	Push Push
	// present records which variables were set, for /healthz.
	present map[string]bool
}

// Push is the validated push configuration.
type Push struct {
	// Sender is SenderFCM, SenderNone or (set by a program, never read from the environment) SenderLog.
	Sender string
	// ProjectID is the Firebase project ("": the service account's).
	ProjectID string
	// CredentialsJSON is the service-account key (nil: Application Default Credentials).
	CredentialsJSON []byte
	// Endpoint is FCM's base URL ("": the real one).
	Endpoint string
}

// Load reads the environment through lookup (os.LookupEnv in production) and validates it. The error names
// every bad variable and says what is expected, never what was found.
func Load(lookup func(string) (string, bool)) (Config, error) {
	c := Config{present: map[string]bool{}}
	get := func(name string) string {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		c.present[name] = ok && v != ""
		return v
	}
	var problems []string
	bad := func(name, format string, args ...any) {
		problems = append(problems, name+" "+fmt.Sprintf(format, args...))
	}

	c.DatabaseURL = get(DatabaseURL)
	if c.DatabaseURL == "" {
		bad(DatabaseURL, "is required (a postgres:// URL)")
	} else if _, err := pgx.ParseConfig(c.DatabaseURL); err != nil {
		bad(DatabaseURL, "is not a valid PostgreSQL connection string")
	}

	switch c.Pooler = strings.ToLower(get(DatabasePooler)); c.Pooler {
	case "":
		c.Pooler = PoolerNone
	case PoolerNone, PoolerSession, PoolerTransaction:
	default:
		bad(DatabasePooler, "must be %q, %q or %q", PoolerNone, PoolerSession, PoolerTransaction)
	}

	c.Secret = get(Secret)
	switch {
	case c.Secret == "":
		bad(Secret, "is required (at least %d bytes, e.g. `openssl rand -hex 32`)", MinSecretLength)
	case len(c.Secret) < MinSecretLength:
		bad(Secret, "is too short: it must be at least %d bytes", MinSecretLength)
	}
	c.PreviousSecret = get(PreviousSecret)
	if c.PreviousSecret != "" && len(c.PreviousSecret) < MinSecretLength {
		bad(PreviousSecret, "is too short: it must be empty or at least %d bytes", MinSecretLength)
	}

	c.Deadline = DefaultDeadline
	if v := get(Deadline); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < MinDeadline || d > MaxDeadline {
			bad(Deadline, "must be a Go duration between %s and %s (e.g. 30s)", MinDeadline, MaxDeadline)
		} else {
			c.Deadline = d
		}
	}

	tz := get(Timezone)
	if tz == "" {
		tz = "Europe/Oslo"
	}
	if loc, err := time.LoadLocation(tz); err != nil {
		bad(Timezone, "must be an IANA time zone such as Europe/Oslo")
	} else {
		c.Location = loc
	}

	c.LogLevel = zapcore.InfoLevel
	if v := strings.ToLower(get(LogLevel)); v != "" {
		if !slices.Contains(LogLevels, v) {
			bad(LogLevel, "must be one of %s", strings.Join(LogLevels, ", "))
		} else {
			_ = c.LogLevel.Set(v)
		}
	}

	c.Push = loadPush(get, bad)

	if len(problems) > 0 {
		return Config{}, errors.New("configuration: " + strings.Join(problems, "; "))
	}
	return c, nil
}

// loadPush reads and checks the push variables; bad records a problem (a name and what is expected).
func loadPush(get func(string) string, bad func(name, format string, args ...any)) Push {
	p := Push{ProjectID: get(FCMProjectID), Endpoint: get(FCMEndpoint)}
	inline, file := get(FCMServiceAccountJSON), get(FCMCredentialsFile)
	switch p.Sender = strings.ToLower(get(PushSender)); p.Sender {
	case SenderFCM:
	case SenderNone:
		return p
	case "":
		bad(PushSender, "is required: %q (send through Firebase Cloud Messaging) or %q (send nothing; notifications stay in-app)",
			SenderFCM, SenderNone)
		return p
	default:
		bad(PushSender, "must be %q or %q (the log sender is for the quick start and tests only)", SenderFCM, SenderNone)
		return p
	}
	if p.ProjectID != "" && !firebaseProjectID.MatchString(p.ProjectID) {
		bad(FCMProjectID, "must be a Firebase project id (6-30 lowercase letters, digits or -)")
	}
	if p.Endpoint != "" {
		if u, err := url.Parse(p.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(FCMEndpoint, "must be an http(s) URL")
		}
	}
	switch {
	case inline != "":
		if !serviceAccountKey([]byte(inline)) {
			bad(FCMServiceAccountJSON, "must be a service-account key (JSON with type service_account, client_email and private_key)")
		}
		p.CredentialsJSON = []byte(inline)
	case file != "":
		b, err := os.ReadFile(file)
		switch {
		case err != nil:
			bad(FCMCredentialsFile, "must name a readable service-account key file")
		case !serviceAccountKey(b):
			bad(FCMCredentialsFile, "must name a service-account key file (JSON with type service_account, client_email and private_key)")
		}
		p.CredentialsJSON = b
	}
	return p
}

// serviceAccountKey reports whether b looks like a service-account key file.
func serviceAccountKey(b []byte) bool {
	var k struct {
		Type        string `json:"type"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
	}
	return json.Unmarshal(b, &k) == nil && k.Type == "service_account" && k.ClientEmail != "" && k.PrivateKey != ""
}

// Presence maps every variable name to "set" or "unset", never to a value: what GET /healthz shows.
func (c Config) Presence() map[string]string {
	m := make(map[string]string, len(Names))
	for _, n := range Names {
		m[n] = "unset"
		if c.present[n] {
			m[n] = "set"
		}
	}
	return m
}

// Where a variable's value came from, as Sources reports it (never the value itself).
const (
	// FromEnvironment: the variable is set (non-blank) in the function's environment.
	FromEnvironment = "environment"
	// FromDefault: the variable is unset and the scheduler's default applies (see Defaults).
	FromDefault = "default"
	// NotSet: the variable is unset and has no default: what it configures is off (a previous secret, a
	// service-account key: Application Default Credentials are used).
	NotSet = "unset"
)

// Defaults describes the default each variable without FromEnvironment falls back to, for the variables
// that have one.
var Defaults = map[string]string{
	DatabasePooler: PoolerNone,
	Deadline:       DefaultDeadline.String(),
	Timezone:       "Europe/Oslo",
	LogLevel:       "info",
	FCMProjectID:   "the service account's project",
	FCMEndpoint:    "Firebase Cloud Messaging",
}

// Sources maps every variable name (Names) to where its value came from: FromEnvironment, FromDefault or
// NotSet. It holds names and sources only, never a value: the function logs it at every cold start and
// answers it to a dry run (the deployment checklist's check 4 reads it there).
func (c Config) Sources() map[string]string {
	m := make(map[string]string, len(Names))
	for _, n := range Names {
		switch _, hasDefault := Defaults[n]; {
		case c.present[n]:
			m[n] = FromEnvironment
		case hasDefault:
			m[n] = FromDefault
		default:
			m[n] = NotSet
		}
	}
	return m
}

// SourcesLine is Sources as one line in Names' order ("DATABASE_URL=environment SCHEDULER_TIMEZONE=default
// ..."), for logs that are read by eye.
func (c Config) SourcesLine() string {
	s := c.Sources()
	parts := make([]string, 0, len(Names))
	for _, n := range Names {
		parts = append(parts, n+"="+s[n])
	}
	return strings.Join(parts, " ")
}
