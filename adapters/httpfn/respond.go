package httpfn

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"go.uber.org/zap"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// recorder is the http.ResponseWriter of a direct invocation, which has no connection to write to.
type recorder struct {
	header http.Header
	status int
	body   []byte
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	r.buf.Write(p)
	r.body = r.buf.Bytes()
	return len(p), nil
}

type logFieldsKey struct{}

// WithLogFields returns a context whose requests log with fields added: a runtime adapter puts its
// request id or trace there, and every line the handler logs for the request carries them.
func WithLogFields(ctx context.Context, fields ...zap.Field) context.Context {
	return context.WithValue(ctx, logFieldsKey{}, append(LogFields(ctx), fields...))
}

// LogFields returns the fields WithLogFields put in ctx.
func LogFields(ctx context.Context) []zap.Field {
	f, _ := ctx.Value(logFieldsKey{}).([]zap.Field)
	return f[:len(f):len(f)]
}
