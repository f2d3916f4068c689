// Command lambda is the scheduler's AWS Lambda bootstrap for the provided.al2023 runtime (built with
// -tags lambda.norpc for arm64 and amd64 by `task build:lambda`). It reads the environment once at cold
// start, wires the scheduler (functions/wire) and serves Function URL requests and raw invocations through adapters/lambda.
package main

import (
	"context"
	"fmt"
	"os"
	_ "time/tzdata" // the runtime image has no zoneinfo

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/peermentor/scenario-scheduler/adapters/lambda"
	"github.com/peermentor/scenario-scheduler/functions/config"
	"github.com/peermentor/scenario-scheduler/functions/wire"
)

func main() {
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		// Lambda reports a failed init with this line; it names variables, never values.
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	log := lambda.NewLogger(cfg.LogLevel, os.Stdout)
	s, err := wire.New(context.Background(), cfg, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer s.Close()
	// A broken push template ends the process, as any configuration error at start does; the check runs
	// while the runtime already waits for the first invocation (functions/wire).
	go func() {
		if err := s.TemplatesChecked(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}()
	awslambda.Start(lambda.New(s.Handler))
}
