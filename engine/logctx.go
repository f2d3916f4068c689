package engine

import (
	"context"

	"go.uber.org/zap"
)

type logFieldsKey struct{}

// WithLogFields returns a context whose request logs with fields added: a runtime adapter puts its request
// id or trace there, and every line logged for the request carries them, the engine's included (Run adds
// them to its run's logger).
func WithLogFields(ctx context.Context, fields ...zap.Field) context.Context {
	return context.WithValue(ctx, logFieldsKey{}, append(LogFields(ctx), fields...))
}

// LogFields returns the fields WithLogFields put in ctx.
func LogFields(ctx context.Context) []zap.Field {
	f, _ := ctx.Value(logFieldsKey{}).([]zap.Field)
	return f[:len(f):len(f)]
}
