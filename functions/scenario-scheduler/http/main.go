// Command http serves the scheduler's HTTP contract (adapters/httpfn) as a plain net/http server, for a
// container platform or a machine of your own.
//
// It reads the environment once at start (see functions/config), listens on -addr (default :$PORT, or
// :8080), and on SIGTERM or SIGINT shuts down gracefully: it stops accepting requests and waits for the
// run in flight to finish; when the -grace period ends first, the run is stopped: the batch in flight
// rolls back, every committed batch stays in the checkpoint, and the client gets a partial report, so the
// next call resumes where the run stopped.
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
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	addr := flag.String("addr", ":"+port, "listen address")
	grace := flag.Duration("grace", 10*time.Second, "on SIGTERM, how long the run in flight may continue before it is stopped and checkpointed")
	flag.Parse()
	if err := run(*addr, *grace); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(addr string, grace time.Duration) error {
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	defer log.Sync() //nolint:errcheck

	stop, stopRuns := context.WithCancel(context.Background())
	defer stopRuns()
	h, closeDB, err := cfg.Handler(context.Background(), log, func(c *httpfn.Config) { c.Stop = stop })
	if err != nil {
		return err
	}
	defer closeDB()

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
	select {
	case err := <-served:
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
