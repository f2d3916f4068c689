// Package scheduler is the scenario scheduler's Google Cloud Functions entry. Cloud Functions' Go
// buildpack compiles a generated main that imports the package at the root of the uploaded source and
// starts functions-framework-go; this package therefore lives at the module root and does nothing but
// wire: at cold start it reads the environment (functions/config), builds the scheduler (functions/wire)
// and registers its shared HTTP handler as the HTTP function ScenarioScheduler (adapters/gcf). The code
// lives in engine/ and adapters/; docs/adapters.md explains the choice.
package scheduler

import (
	"context"
	"os"
	_ "time/tzdata" // the runtime image may lack zoneinfo

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/peermentor/scenario-scheduler/adapters/gcf"
	"github.com/peermentor/scenario-scheduler/functions/config"
	"github.com/peermentor/scenario-scheduler/functions/wire"
)

// FunctionName is the entry point to deploy (gcloud --entry-point, FUNCTION_TARGET).
const FunctionName = "ScenarioScheduler"

func init() {
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		// Fail the cold start: the instance never serves with a bad configuration, and the log line
		// names every bad variable (never a value).
		gcf.NewLogger(zapcore.InfoLevel, os.Stderr).Error(err.Error())
		os.Exit(1)
	}
	log := gcf.NewLogger(cfg.LogLevel, os.Stdout)
	s, err := wire.New(context.Background(), cfg, log)
	if err != nil {
		log.Error("starting the scheduler failed", zap.Error(err))
		os.Exit(1)
	}
	// A broken push template ends the process, as any configuration error at start does; the check runs
	// while the framework already starts serving (functions/wire).
	go func() {
		if err := s.TemplatesChecked(context.Background()); err != nil {
			log.Error("starting the scheduler failed", zap.Error(err))
			os.Exit(1)
		}
	}()
	gcf.Register(FunctionName, s.Handler, os.Getenv("GOOGLE_CLOUD_PROJECT"))
}
