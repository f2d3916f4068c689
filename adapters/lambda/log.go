package lambda

import (
	"io"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// RequestID holds the id of the invocation in progress. A Lambda execution environment runs one
// invocation at a time, so one value per process is exact, and every log line (the engine's included)
// can carry it.
type RequestID struct{ v atomic.Pointer[string] }

// Set records the current invocation's id ("" between invocations).
func (r *RequestID) Set(id string) { r.v.Store(&id) }

// Get returns the current invocation's id.
func (r *RequestID) Get() string {
	if p := r.v.Load(); p != nil {
		return *p
	}
	return ""
}

// NewLogger writes JSON lines with the keys Lambda's JSON log format reads: timestamp (RFC 3339, UTC),
// level (DEBUG, INFO, WARN, ERROR), message, and requestId while an invocation is in progress.
func NewLogger(level zapcore.Level, w io.Writer, id *RequestID) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		TimeKey:        "timestamp",
		LevelKey:       "level",
		MessageKey:     "message",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeLevel:    zapcore.CapitalLevelEncoder,
		EncodeTime:     func(t time.Time, e zapcore.PrimitiveArrayEncoder) { e.AppendString(t.UTC().Format(time.RFC3339Nano)) },
		EncodeDuration: zapcore.MillisDurationEncoder,
	})
	var core zapcore.Core = zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level)
	if id != nil {
		core = requestCore{Core: core, id: id}
	}
	return zap.New(core)
}

// requestCore adds requestId to every entry written during an invocation.
type requestCore struct {
	zapcore.Core
	id *RequestID
}

func (c requestCore) With(fields []zapcore.Field) zapcore.Core {
	return requestCore{Core: c.Core.With(fields), id: c.id}
}

func (c requestCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c requestCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if id := c.id.Get(); id != "" {
		fields = append(fields[:len(fields):len(fields)], zap.String("requestId", id))
	}
	return c.Core.Write(e, fields)
}
