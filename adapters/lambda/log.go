package lambda

import (
	"io"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// RequestIDKey is the log field of the invocation's request id, as Lambda's JSON log format names it.
const RequestIDKey = "requestId"

// NewLogger writes JSON lines with the keys Lambda's JSON log format reads: timestamp (RFC 3339, UTC),
// level (DEBUG, INFO, WARN, ERROR) and message; Handler adds requestId to the lines of each invocation.
func NewLogger(level zapcore.Level, w io.Writer) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		TimeKey:        "timestamp",
		LevelKey:       "level",
		MessageKey:     "message",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeLevel:    zapcore.CapitalLevelEncoder,
		EncodeTime:     func(t time.Time, e zapcore.PrimitiveArrayEncoder) { e.AppendString(t.UTC().Format(time.RFC3339Nano)) },
		EncodeDuration: zapcore.MillisDurationEncoder,
	})
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level))
}
