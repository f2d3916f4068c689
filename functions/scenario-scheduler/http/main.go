// Command http serves the scheduler's HTTP contract (adapters/httpfn) as a plain net/http server, for a
// container platform or a machine of your own.
//
// It reads the environment once at start (see functions/config), wires the scheduler (functions/wire),
// listens on -addr (default :$PORT, or :8080), and on SIGTERM or SIGINT shuts down gracefully: it stops accepting requests and waits for the
// run in flight to finish; when the -grace period ends first, the run is stopped: the batch in flight
// rolls back, every committed batch stays in the checkpoint, and the client gets a partial report, so the
// next call resumes where the run stopped.
//
// The benchmark runs this binary as it is deployed. For its datasets, which are relative to a fixed date,
// and for tests, a few flags (-today, -push-log and the batch tuning; see local.go) set the clock, the log
// sender and the engine's batch options; they are refused unless -addr is a loopback address.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // a scratch or distroless image has no zoneinfo

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/functions/config"
	"github.com/peermentor/scenario-scheduler/functions/wire"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	addr := flag.String("addr", ":"+port, "listen address")
	grace := flag.Duration("grace", 10*time.Second, "on SIGTERM, how long the run in flight may continue before it is stopped and checkpointed")
	var l local
	l.register(flag.CommandLine)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage of %s:\n", os.Args[0])
		flag.PrintDefaults()
		fmt.Fprintln(flag.CommandLine.Output(), loopbackOnly)
	}
	flag.Parse()
	if err := run(*addr, *grace, l); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(addr string, grace time.Duration, flags local) error {
	if err := flags.check(addr); err != nil {
		return err
	}
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	defer log.Sync() //nolint:errcheck

	stop, stopRuns := context.WithCancel(context.Background())
	defer stopRuns()
	opts := append(flags.apply(&cfg, log), wire.HTTP(func(c *httpfn.Config) { c.Stop = stop }))
	s, err := wire.New(context.Background(), cfg, log, opts...)
	if err != nil {
		return err
	}
	defer s.Close()
	h := s.Handler

	// Reads and writes may take as long as a run, plus room to receive the body and send the report.
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.Deadline + 10*time.Second,
		WriteTimeout:      cfg.Deadline + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("listening", zap.String("addr", l.Addr().String()), zap.Duration("deadline", cfg.Deadline))

	sig, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	// A broken push template stops the server, as any configuration error at start does; the check runs
	// while the server already listens (functions/wire).
	broken := make(chan error, 1)
	go func() {
		if err := s.TemplatesChecked(sig); err != nil {
			broken <- err
		}
	}()
	select {
	case err := <-served:
		return err
	case err := <-broken:
		return err
	case <-sig.Done():
	}

	log.Info("shutting down: waiting for the run in flight", zap.Duration("grace", grace))
	ctx, cancelWait := context.WithTimeout(context.Background(), grace)
	defer cancelWait()
	err = srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// Stop the runs: the batch in flight rolls back, committed batches stay checkpointed, the
		// answer is partial.
		log.Warn("grace period over: stopping the run in flight at its checkpoint")
		stopRuns()
		final, cancelFinal := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancelFinal()
		err = srv.Shutdown(final)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func newLogger(level zapcore.Level) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		TimeKey: "timestamp", LevelKey: "level", MessageKey: "message", LineEnding: zapcore.DefaultLineEnding,
		EncodeLevel: zapcore.CapitalLevelEncoder, EncodeTime: zapcore.RFC3339NanoTimeEncoder,
		EncodeDuration: zapcore.MillisDurationEncoder,
	})
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(os.Stdout), level))
}
