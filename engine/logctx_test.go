package engine_test

import (
	"context"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/peermentor/scenario-scheduler/engine"
)

// TestRunLogsRequestFields: the fields an adapter puts on the request's context (a Lambda request id, a
// Cloud Trace id) are on every line the engine logs for the run, and on no other run's.
func TestRunLogsRequestFields(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.DebugLevel)
	b := setup(t, func(o *engine.Options) { o.Logger = zap.New(core) })
	b.population(t, 50)
	ctx := engine.WithLogFields(context.Background(), zap.String("trace", "trace-1"))
	if rep := b.run(t, engine.Request{}); rep.Status != engine.Completed {
		t.Fatalf("run without fields: %s", rep.Status)
	}
	without := logs.Len()
	if _, err := b.engine.Run(ctx, engine.Request{DryRun: true}); err != nil {
		t.Fatal(err)
	}
	entries := logs.AllUntimed()
	if without == 0 || len(entries) == without {
		t.Fatalf("the runs logged %d and %d lines", without, len(entries)-without)
	}
	for i, e := range entries {
		got := e.ContextMap()["trace"]
		if want := map[bool]any{true: "trace-1", false: nil}[i >= without]; got != want {
			t.Errorf("%q: trace %v, want %v", e.Message, got, want)
		}
	}
}
