package httpfn

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/peermentor/scenario-scheduler/engine"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Recorder is the http.ResponseWriter of an invocation that has no connection to write to: a direct
// invocation, or a runtime adapter (Lambda) that turns the handler's response into the platform's.
type Recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{header: http.Header{}} }

// Header implements http.ResponseWriter.
func (r *Recorder) Header() http.Header { return r.header }

// WriteHeader implements http.ResponseWriter; the first status written wins.
func (r *Recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// Write implements http.ResponseWriter.
func (r *Recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// Status is the status written (200 when only a body was).
func (r *Recorder) Status() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// Body is the body written so far.
func (r *Recorder) Body() []byte { return r.body.Bytes() }

// WriteError answers err as the handler answers every error: the status from the one table (statusOf),
// the JSON error body, and a log line with the request's fields. Runtime adapters use it for what they
// reject before the handler runs (a Function URL body that is not base64).
func (h *Handler) WriteError(ctx context.Context, w http.ResponseWriter, err error) {
	h.respond(w, h.log.With(engine.LogFields(ctx)...), nil, err)
}
