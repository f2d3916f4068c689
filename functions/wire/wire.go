// Package wire is the scheduler's one wiring point: it turns a configuration (functions/config) into the
// running parts - the Postgres store, the push sender, the engine over them and the shared HTTP handler
// over the engine - and a Close that releases them. Every program that runs the scheduler builds it here:
// the three entry points (functions/scenario-scheduler/{http,lambda,gcf}, and the root package that Cloud
// Functions compiles), the quick start, the benchmark and the chaos suite. What is tested and measured is
// therefore what is deployed, down to the push sender and the start-up template check.
//
// Why a package of its own rather than more of functions/config: config reads and validates the
// environment and imports no adapter, so whatever needs the variables' names and rules (the deployment
// checklist, the Terraform variable tests) has them without the database driver or the FCM client. wire is
// the one package that knows every adapter: "main only wires" with seven mains means they all call New.
//
// Options adjust what programs other than a deployment need - a fixed clock and batch tuning for the
// benchmark, a smaller pool, a server's stop context. None of them is read from the environment, so a
// deployed function cannot be switched into them by a variable.
package wire

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/peermentor/scenario-scheduler/adapters/fcm"
	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/engine"
	"github.com/peermentor/scenario-scheduler/functions/config"
)

// Scheduler is the wired scheduler: its parts, for the programs that use more than the handler (the
// benchmark runs the engine in-process as well, the chaos suite reads the store's pool).
type Scheduler struct {
	// Store is the Postgres store (its pool connects lazily unless an Option says otherwise).
	Store *postgres.Store
	// Sender is the push sender; nil when push delivery is off (PUSH_SENDER=none).
	Sender engine.Sender
	// Engine evaluates the scenarios over Store and delivers through Sender.
	Engine *engine.Engine
	// Handler is the shared HTTP contract over Engine, with Store as its replay guard.
	Handler *httpfn.Handler

	checked     chan struct{} // closed when the start-up check of the push templates is over
	checkErr    error         // a broken template found by it
	cancelCheck context.CancelFunc
}

// Close stops the start-up check if it still runs and releases the database pool.
func (s *Scheduler) Close() {
	s.cancelCheck()
	<-s.checked
	s.Store.Close()
}

// TemplatesChecked waits for the start-up check of the push templates (or for ctx) and returns what it
// found: an error naming a broken template, a configuration error the entry points stop on; nil when the
// templates are sound, when delivery is off, or when the database could not be reached (logged as a
// warning: every delivery step checks the templates again before it sends anything).
func (s *Scheduler) TemplatesChecked(ctx context.Context) error {
	select {
	case <-s.checked:
		return s.checkErr
	case <-ctx.Done():
		return nil
	}
}

// Option adjusts the wiring for a program other than a deployment; see the functions returning one.
type Option func(*settings)

type settings struct {
	store  []func(*postgres.Config)
	engine []func(*engine.Options)
	http   []func(*httpfn.Config)
}

// Store adjusts the database adapter's configuration (the chaos suite bounds the pool, the quick start
// connects eagerly).
func Store(f func(*postgres.Config)) Option {
	return func(s *settings) { s.store = append(s.store, f) }
}

// Engine adjusts the engine's options (the benchmark's fixed clock and batch tuning, the chaos suite's
// short budgets).
func Engine(f func(*engine.Options)) Option {
	return func(s *settings) { s.engine = append(s.engine, f) }
}

// HTTP adjusts the HTTP contract's configuration (a server adds its Stop context).
func HTTP(f func(*httpfn.Config)) Option { return func(s *settings) { s.http = append(s.http, f) } }

// PostgresConfig is the database adapter's configuration for c. The pool connects lazily, so a cold start
// succeeds while the database is down and requests answer 503 until it is back.
func PostgresConfig(c config.Config) postgres.Config {
	return postgres.Config{URL: c.DatabaseURL, NoPreparedStatements: c.Pooler == config.PoolerTransaction, Lazy: true}
}

// HTTPConfig is the shared HTTP contract's configuration for c (without the replay guard, which New adds).
func HTTPConfig(c config.Config, log *zap.Logger) httpfn.Config {
	return httpfn.Config{Secret: c.Secret, PreviousSecret: c.PreviousSecret, Budget: c.Deadline, Logger: log,
		Health: c.Presence()}
}

// EngineOptions are the engine's options for c, with the push sender c.Push asks for (nil when delivery is
// off).
func EngineOptions(ctx context.Context, c config.Config, log *zap.Logger) (engine.Options, error) {
	o := engine.Options{Location: c.Location, Budget: c.Deadline, Logger: log, Configuration: c.Sources()}
	switch c.Push.Sender {
	case config.SenderFCM:
		s, err := fcm.New(ctx, fcm.Config{ProjectID: c.Push.ProjectID, CredentialsJSON: c.Push.CredentialsJSON,
			Endpoint: c.Push.Endpoint, Logger: log})
		if err != nil {
			which := config.FCMServiceAccountJSON + " / " + config.FCMCredentialsFile
			if c.Push.CredentialsJSON == nil {
				which = "Application Default Credentials (set " + config.FCMServiceAccountJSON + " or " +
					config.FCMCredentialsFile + ")"
			}
			return engine.Options{}, fmt.Errorf("%s=fcm: %s: %w", config.PushSender, which, err)
		}
		o.Sender = s
	case config.SenderNone:
		o.Delivery.Off = true
	case config.SenderLog:
		o.Sender = fcm.NewLogSender(log)
	default:
		return engine.Options{}, fmt.Errorf("%s: no push sender chosen", config.PushSender)
	}
	return o, nil
}

// New wires the scheduler as every entry point runs it: a database pool, the push sender, the engine over
// both and the shared HTTP handler over the engine. It does not wait for the database: the push templates
// (the project's overrides are in the database) are checked in the background, so that the first
// connection (a server process forked, authentication, over TLS in a deployment) is made while the entry
// point opens its listener and the platform routes the first request, not before the function is ready.
// TemplatesChecked says what the check found: a broken template is a configuration error the entry points
// stop on; a database that is down is not (requests answer 503 until it is back, and the templates are
// checked again with every delivery). log may be nil (no logs).
func New(ctx context.Context, c config.Config, log *zap.Logger, opts ...Option) (*Scheduler, error) {
	if log == nil {
		log = zap.NewNop()
	}
	// The cold start names every configuration variable and where its value came from, never a value: the
	// deployment checklist's check 4 ("every variable set, seen in the function's logs") reads this line.
	log.Info("configuration", zap.String("variables", c.SourcesLine()), zap.Any("configuration", c.Sources()))
	var set settings
	for _, o := range opts {
		o(&set)
	}
	eo, err := EngineOptions(ctx, c, log)
	if err != nil {
		return nil, err
	}
	for _, f := range set.engine {
		f(&eo)
	}
	pc := PostgresConfig(c)
	for _, f := range set.store {
		f(&pc)
	}
	store, err := postgres.Open(ctx, pc)
	if err != nil {
		return nil, err
	}
	s := &Scheduler{Store: store, Sender: eo.Sender, Engine: engine.New(store, eo), checked: make(chan struct{})}
	checkCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	s.cancelCheck = cancel
	go func() {
		defer close(s.checked)
		defer cancel()
		err := s.Engine.CheckDelivery(checkCtx)
		switch {
		case err == nil:
		case engine.ErrorCode(err) == engine.Unavailable || checkCtx.Err() != nil:
			log.Warn("push templates not checked: database unavailable at start", zap.Error(err))
		default:
			s.checkErr = fmt.Errorf("push templates: %w", err)
			log.Error("push templates are broken: every delivery fails until they are fixed", zap.Error(err))
		}
	}()
	hc := HTTPConfig(c, log)
	hc.Replay = store
	for _, f := range set.http {
		f(&hc)
	}
	s.Handler = httpfn.New(s.Engine, hc)
	return s, nil
}
