package config

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/peermentor/scenario-scheduler/adapters/fcm"
	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
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
)

// Names lists every variable, in the order /healthz shows them: the scheduler's own, then push delivery's
// (read by adapters/fcm).
var Names = append([]string{DatabaseURL, DatabasePooler, Secret, PreviousSecret, Deadline, Timezone, LogLevel},
	fcm.EnvNames...)

// Deadline bounds: the product answers within 30 s (the cron job gives pg_net a longer timeout); a
// shorter platform timeout lowers the budget by itself.
const (
	DefaultDeadline = 30 * time.Second
	MinDeadline     = time.Second
	MaxDeadline     = 30 * time.Second
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
	// present records which variables were set, for /healthz.
	present map[string]bool
	// getenv reads the push sender's variables (adapters/fcm validates those).
	getenv func(string) string
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
	c.getenv = func(name string) string { v, _ := lookup(name); return v }
	for _, n := range fcm.EnvNames {
		get(n)
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
		levels := []string{"debug", "info", "warn", "error"}
		if !slices.Contains(levels, v) {
			bad(LogLevel, "must be one of %s", strings.Join(levels, ", "))
		} else {
			_ = c.LogLevel.Set(v)
		}
	}

	if len(problems) > 0 {
		return Config{}, errors.New("configuration: " + strings.Join(problems, "; "))
	}
	return c, nil
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

// Postgres is the database adapter's configuration. The pool connects lazily, so a cold start succeeds
// while the database is down and requests answer 503 until it is back.
func (c Config) Postgres() postgres.Config {
	return postgres.Config{URL: c.DatabaseURL, NoPreparedStatements: c.Pooler == PoolerTransaction, Lazy: true}
}

// Engine is the engine's options, with the push sender PUSH_SENDER asks for (the log sender by default).
func (c Config) Engine(ctx context.Context, log *zap.Logger) (engine.Options, error) {
	sender, err := fcm.FromEnv(ctx, c.getenv, log)
	if err != nil {
		return engine.Options{}, err
	}
	return engine.Options{Location: c.Location, Budget: c.Deadline, Logger: log, Sender: sender}, nil
}

// HTTP is the shared HTTP contract's configuration.
func (c Config) HTTP(log *zap.Logger) httpfn.Config {
	return httpfn.Config{Secret: c.Secret, PreviousSecret: c.PreviousSecret, Budget: c.Deadline, Logger: log,
		Health: c.Presence()}
}

// Handler wires the scheduler as every entry point runs it: a lazily connecting database pool, the engine
// over it and the shared HTTP handler over the engine; with, when given, adjusts the handler's
// configuration (a server adds its Stop context). close releases the pool.
func (c Config) Handler(ctx context.Context, log *zap.Logger, with ...func(*httpfn.Config)) (h *httpfn.Handler, close func(), err error) {
	opts, err := c.Engine(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	store, err := postgres.Open(ctx, c.Postgres())
	if err != nil {
		return nil, nil, err
	}
	eng := engine.New(store, opts)
	checkCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// A broken push template is a configuration error at start; a database that is down is not (requests
	// answer 503 until it is back, and the templates are checked again with every delivery).
	if err := eng.CheckDelivery(checkCtx); err != nil {
		if engine.ErrorCode(err) != engine.Unavailable {
			store.Close()
			return nil, nil, fmt.Errorf("push templates: %w", err)
		}
		log.Warn("push templates not checked: database unavailable at start", zap.Error(err))
	}
	hc := c.HTTP(log)
	hc.Replay = store
	for _, f := range with {
		f(&hc)
	}
	return httpfn.New(eng, hc), store.Close, nil
}
