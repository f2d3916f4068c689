package gcf

import (
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/peermentor/scenario-scheduler/engine"
)

// TraceKey is the log field Cloud Logging groups a request's lines by.
const TraceKey = "logging.googleapis.com/trace"

// Register declares h as the HTTP function name (the deployment's entry point, FUNCTION_TARGET).
// project is the Google Cloud project id that trace names need; when empty, the bare trace id is logged.
func Register(name string, h http.Handler, project string) {
	functions.HTTP(name, Handler(h, project).ServeHTTP)
}

// Handler adds the request's trace (from X-Cloud-Trace-Context or traceparent) to every log line of the
// request, the handler's and the engine's (engine.WithLogFields), and sets the request's RemoteAddr to the
// caller's address as Google's front end saw it (see ClientAddr), so that the lines of rejected requests
// name the caller rather than Google's proxy.
func Handler(h http.Handler, project string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if addr := ClientAddr(r.Header); addr != "" {
			r.RemoteAddr = addr
		}
		if id := traceID(r.Header); id != "" {
			if project != "" {
				id = "projects/" + project + "/traces/" + id
			}
			r = r.WithContext(engine.WithLogFields(r.Context(), zap.String(TraceKey, id)))
		}
		h.ServeHTTP(w, r)
	})
}

// ClientAddr is the caller's address behind Google's front end: the last entry of X-Forwarded-For, the
// one the front end appends. Entries to its left are whatever the client sent (anyone can write
// "X-Forwarded-For: 10.0.0.1"), so they are never trusted. Empty when the last entry is not an IP address
// (then RemoteAddr, Google's proxy, is kept). With an extra load balancer in front of the function the
// last entry would be that balancer; the deployment in infra/deploy/gcp has none.
func ClientAddr(h http.Header) string {
	v := strings.Join(h.Values("X-Forwarded-For"), ",")
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	addr, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil {
		return ""
	}
	return addr.String()
}

// traceID reads "TRACE_ID/SPAN_ID;o=1" (X-Cloud-Trace-Context) or "00-TRACE_ID-SPAN_ID-01" (W3C
// traceparent). Only a 32-digit hex id is taken, so nothing else from a header reaches the logs.
func traceID(h http.Header) string {
	id := ""
	if v := h.Get("X-Cloud-Trace-Context"); v != "" {
		id, _, _ = strings.Cut(v, "/")
	} else if parts := strings.Split(h.Get("Traceparent"), "-"); len(parts) == 4 {
		id = parts[1]
	}
	if len(id) != 32 || strings.Trim(strings.ToLower(id), "0123456789abcdef") != "" {
		return ""
	}
	return strings.ToLower(id)
}

// NewLogger writes JSON lines in Cloud Logging's structured format: severity (DEBUG, INFO, WARNING,
// ERROR, CRITICAL), message and timestamp (RFC 3339, UTC).
func NewLogger(level zapcore.Level, w io.Writer) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		TimeKey:        "timestamp",
		LevelKey:       "severity",
		MessageKey:     "message",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeLevel:    severity,
		EncodeTime:     func(t time.Time, e zapcore.PrimitiveArrayEncoder) { e.AppendString(t.UTC().Format(time.RFC3339Nano)) },
		EncodeDuration: zapcore.MillisDurationEncoder,
	})
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level))
}

// severity maps zap's levels onto Cloud Logging's LogSeverity names.
func severity(l zapcore.Level, e zapcore.PrimitiveArrayEncoder) {
	switch {
	case l <= zapcore.DebugLevel:
		e.AppendString("DEBUG")
	case l == zapcore.InfoLevel:
		e.AppendString("INFO")
	case l == zapcore.WarnLevel:
		e.AppendString("WARNING")
	case l == zapcore.ErrorLevel:
		e.AppendString("ERROR")
	default:
		e.AppendString("CRITICAL")
	}
}
