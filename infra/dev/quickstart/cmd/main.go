// Command quickstart runs the demo of package quickstart against DATABASE_URL (`go tool task run` starts a
// throw-away PostgreSQL cluster and sets it).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the engine's Europe/Oslo dates must not depend on the host's zoneinfo

	"go.uber.org/zap"

	"github.com/peermentor/scenario-scheduler/infra/dev/quickstart"
)

func main() {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		fmt.Fprintln(os.Stderr, "quickstart: DATABASE_URL is not set; run it with `go tool task run`, which starts a local PostgreSQL")
		os.Exit(2)
	}
	logCfg := zap.NewProductionConfig()
	logCfg.Level = zap.NewAtomicLevelAt(zap.WarnLevel)
	if os.Getenv("LOG_LEVEL") == "debug" || os.Getenv("LOG_LEVEL") == "info" {
		logCfg.Level = zap.NewAtomicLevelAt(zap.InfoLevel)
	}
	log, err := logCfg.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
	defer log.Sync() //nolint:errcheck
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := quickstart.Run(ctx, url, os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}
