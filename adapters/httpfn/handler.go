package httpfn

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/peermentor/scenario-scheduler/engine"
)

// SecretHeader carries the shared secret.
const SecretHeader = "X-Scheduler-Secret"

// HealthPath answers GET without touching the engine or the database.
const HealthPath = "/healthz"

// Runner runs the scheduler; *engine.Engine is one.
type Runner interface {
	Run(ctx context.Context, req engine.Request) (engine.Report, error)
}

// Config configures the handler.
type Config struct {
	// Secret is required in X-Scheduler-Secret. PreviousSecret, when set, is accepted too (rotation).
	Secret, PreviousSecret string
	// Budget is the longest a run may take (default 30 s); a platform deadline may shorten it.
	Budget time.Duration
	// Logger receives one line per request (default: none).
	Logger *zap.Logger
}

// Handler serves the scheduler over HTTP.
type Handler struct {
	run Runner
	cfg Config
	log *zap.Logger
}

// New returns the handler.
func New(run Runner, cfg Config) *Handler {
	if cfg.Budget <= 0 {
		cfg.Budget = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &Handler{run: run, cfg: cfg, log: cfg.Logger}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == HealthPath {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.writeError(w, r, &engine.Error{Code: codeMethod, Message: "use POST"})
		return
	}
	if !h.authorised(r.Header.Get(SecretHeader)) {
		h.writeError(w, r, &engine.Error{Code: codeUnauthorised, Message: "missing or wrong " + SecretHeader})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		h.writeError(w, r, engine.Errorf(engine.Invalid, "could not read the body"))
		return
	}
	if len(body) > MaxBody {
		h.writeError(w, r, &engine.Error{Code: codeTooLarge, Message: "body is larger than 64 KiB"})
		return
	}
	req, err := Decode(r.Header.Get("Content-Type"), body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	req.Trigger = engine.TriggerHTTP

	// The run outlives the client: pg_net gives up after its timeout, but a run cut half-way would only
	// waste work. Keep the values, drop the cancellation, bound by the budget.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.Budget(r.Context()))
	defer cancel()
	rep, err := h.run.Run(ctx, req)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// Budget is the run's budget for a request context: the configured budget, shortened by the context's
// deadline (a platform deadline) less a margin for answering.
func (h *Handler) Budget(ctx context.Context) time.Duration {
	b := h.cfg.Budget
	if d, ok := ctx.Deadline(); ok {
		b = min(b, time.Until(d)-DeadlineMargin)
	}
	return max(b, 0)
}

// DeadlineMargin is kept between the run's end and a platform deadline, to write the response.
const DeadlineMargin = 2 * time.Second

// authorised compares in constant time against the current and the previous secret.
func (h *Handler) authorised(got string) bool {
	ok := 0
	for _, want := range []string{h.cfg.Secret, h.cfg.PreviousSecret} {
		if want != "" {
			ok |= subtle.ConstantTimeCompare([]byte(got), []byte(want))
		}
	}
	return ok == 1
}

// Codes of the HTTP layer itself, beside the engine's.
const (
	codeMethod       engine.Code = "method_not_allowed"
	codeUnauthorised engine.Code = "unauthorised"
	codeTooLarge     engine.Code = "body_too_large"
)

// statusOf is the one table from error codes to HTTP status codes.
var statusOf = map[engine.Code]int{
	engine.Invalid:     http.StatusBadRequest,
	codeUnauthorised:   http.StatusUnauthorized,
	codeMethod:         http.StatusMethodNotAllowed,
	codeTooLarge:       http.StatusRequestEntityTooLarge,
	engine.Conflict:    http.StatusConflict,
	engine.Unavailable: http.StatusServiceUnavailable,
	engine.Internal:    http.StatusInternalServerError,
}

// ErrorBody is the JSON of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail describes an error without internals: no SQL, no stack, no secret.
type ErrorDetail struct {
	Code    engine.Code `json:"code"`
	Message string      `json:"message"`
	ErrorID string      `json:"error_id,omitempty"`
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := engine.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = engine.Internal, http.StatusInternalServerError
	}
	detail := ErrorDetail{Code: code, Message: engine.ErrorMessage(err)}
	switch {
	case code == engine.Unavailable:
		w.Header().Set("Retry-After", "30")
		detail.Message = "database unavailable; retry later"
		fallthrough
	case status >= 500:
		detail.ErrorID = newErrorID()
		if code == engine.Internal {
			detail.Message = "internal error"
		}
		h.log.Error("request failed", zap.String("error_id", detail.ErrorID), zap.Error(err))
	default:
		h.log.Info("request rejected", zap.Int("status", status), zap.String("reason", detail.Message))
	}
	writeJSON(w, status, ErrorBody{Error: detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func newErrorID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
