package httpfn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
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
	// Secret is required in X-Scheduler-Secret, or as the key of X-Scheduler-Signature. PreviousSecret,
	// when set, is accepted too (rotation).
	Secret, PreviousSecret string
	// Budget is the longest a run may take (default engine.DefaultBudget); a platform deadline may shorten it.
	Budget time.Duration
	// Logger receives one line per request (default: none).
	Logger *zap.Logger
	// Health is shown by GET /healthz under "config": variable names mapped to "set" or "unset".
	Health map[string]string
	// Now is the clock signatures are checked against (default time.Now).
	Now func() time.Time
	// Stop, when done, stops the runs in progress as if their budget were spent: each commits what it
	// has, checkpoints and answers partial. A server cancels it when a shutdown's grace period ends.
	Stop context.Context
	// Replay accepts each signature once. Without it every signed call is refused (500, logged as an
	// error): a signature that could be replayed is never accepted. The raw secret needs no guard.
	Replay ReplayGuard
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
		cfg.Budget = engine.DefaultBudget
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{run: run, cfg: cfg, log: cfg.Logger}
}

// Health is the body of GET /healthz.
type Health struct {
	Status string            `json:"status"`
	Config map[string]string `json:"config"`
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// RemoteAddr is the caller as the platform saw it: the TCP peer for the plain server, the Function
	// URL's requestContext.http.sourceIp on Lambda, the address Google's front end appended to
	// X-Forwarded-For on Cloud Functions (the adapters put it there).
	log := h.log.With(engine.LogFields(r.Context())...).With(zap.String("remote_addr", r.RemoteAddr))
	if r.URL.Path == HealthPath && r.Method != http.MethodPost {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			h.respond(w, log, nil, &engine.Error{Code: codeMethod, Message: "use GET"})
			return
		}
		cfg := h.cfg.Health
		if cfg == nil {
			cfg = map[string]string{}
		}
		writeJSON(w, http.StatusOK, Health{Status: "ok", Config: cfg})
		return
	}
	log = log.With(zap.String("method", excerpt(r.Method)), zap.String("path", excerpt(r.URL.EscapedPath())))
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.respond(w, log, nil, &engine.Error{Code: codeMethod, Message: "use POST"})
		return
	}
	if headerBytes(r.Header) > MaxHeaderBytes {
		h.respond(w, log, nil, &engine.Error{Code: codeHeaders, Message: "request headers are larger than 16 KiB"})
		return
	}
	sig := SignatureFrom(r.Header)
	if err := h.authenticate(r.Header, sig); err != nil {
		h.respond(w, log, nil, err)
		return
	}
	// A signed call's query string is judged once its signature is verified (invokeSigned).
	if !sig.Present() {
		if err := queryError(r.URL); err != nil {
			h.respond(w, log, nil, err)
			return
		}
	}
	// Not every ResponseWriter supports deadlines (the Lambda adapter's does not need one): ignore that.
	// The deadline is lifted once the body is in, so that the run's wait is not taken for a dead client.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(BodyTimeout))
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	_ = rc.SetReadDeadline(time.Time{})
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		h.respond(w, log, nil, &engine.Error{Code: codeSlowBody, Message: "the body did not arrive within 10 s"})
		return
	}
	if err != nil {
		h.respond(w, log, nil, engine.Errorf(engine.Invalid, "could not read the body"))
		return
	}
	var rep *engine.Report
	if sig.Present() {
		rep, err = h.invokeSigned(r, sig, body, log)
	} else {
		rep, err = h.invoke(r.Context(), r.Header.Get("Content-Type"), body, "", log)
	}
	h.respond(w, log, rep, err)
}

// maxQueryNames is the most parameter names a refused query string's message lists.
const maxQueryNames = 5

// queryError refuses a query string, after authentication (a caller without the secret or a valid
// signature learns nothing from it but 401). Options travel in the JSON body only: a query string is not
// signed, and ?dry_run=true must never be taken for a dry run that the body does not ask for. The message
// names the parameters and never a value, since a caller may have put the secret in the URL
// (?secret=...): a name is what comes before '=' (unescaped, at most maxEcho bytes, at most maxQueryNames
// of them); a parameter without '=' is named only when it is a body field (?dry_run), and otherwise only
// counted, since a bare token may be the secret itself.
func queryError(u *url.URL) error {
	if u.RawQuery == "" && !u.ForceQuery {
		return nil
	}
	const msg = "query-string parameters are not accepted: put options in the JSON body"
	var names []string
	unnamed := 0
	for _, p := range strings.Split(u.RawQuery, "&") {
		if p == "" {
			continue
		}
		name, _, hasValue := strings.Cut(p, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if !hasValue && !slices.Contains(knownFields, name) {
			unnamed++
			continue
		}
		names = append(names, strconv.Quote(excerpt(name)))
	}
	var got []string
	if n := len(names); n > maxQueryNames {
		names = append(names[:maxQueryNames], fmt.Sprintf("and %d more", n-maxQueryNames))
	}
	if len(names) > 0 {
		got = append(got, "parameters "+strings.Join(names, ", "))
	}
	if unnamed > 0 {
		got = append(got, fmt.Sprintf("%d without a name", unnamed))
	}
	if len(got) == 0 {
		return engine.Errorf(engine.Invalid, "%s (got an empty query string)", msg)
	}
	return engine.Errorf(engine.Invalid, "%s (got %s; values are not shown)", msg, strings.Join(got, "; "))
}

// headerBytes is the size of the headers as sent: names, values and separators.
func headerBytes(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// Direct serves an invocation that the platform already authenticated (a Lambda console "Test" event,
// authorised by IAM): body is the request body, the report's trigger is "direct". It answers the status
// and the JSON body an HTTP request with the same body would get.
func (h *Handler) Direct(ctx context.Context, body []byte) (status int, response []byte) {
	log := h.log.With(engine.LogFields(ctx)...)
	rep, err := h.invoke(ctx, "", body, engine.TriggerDirect, log)
	rec := NewRecorder()
	h.respond(rec, log, rep, err)
	return rec.Status(), rec.Body()
}

// invoke checks the size, decodes the body of an unsigned call and runs it. trigger, when not empty,
// overrides the body's.
func (h *Handler) invoke(ctx context.Context, contentType string, body []byte, trigger string, log *zap.Logger) (*engine.Report, error) {
	if len(body) > MaxBody {
		return nil, &engine.Error{Code: codeTooLarge, Message: "body is larger than 64 KiB"}
	}
	req, err := Decode(contentType, body)
	if err != nil {
		return nil, err
	}
	if trigger != "" {
		req.Trigger = trigger
	}
	return h.start(ctx, req, log)
}

// invokeSigned serves a signed call: the body is decoded strictly (no field the signature does not
// cover), the signature is checked over the method, the path and the decoded body, and then claimed
// once through the replay guard before anything runs.
func (h *Handler) invokeSigned(r *http.Request, sig Signature, body []byte, log *zap.Logger) (*engine.Report, error) {
	if len(body) > MaxBody {
		return nil, &engine.Error{Code: codeTooLarge, Message: "body is larger than 64 KiB"}
	}
	b, err := DecodeSigned(r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, err
	}
	now := h.cfg.Now()
	if err := VerifySignature(sig, r.Method, r.URL.EscapedPath(), b, now, h.cfg.Secret, h.cfg.PreviousSecret); err != nil {
		return nil, signatureError(err)
	}
	// Refused before the claim: the signature, which does not cover the query string, stays unused.
	if err := queryError(r.URL); err != nil {
		return nil, err
	}
	ts, _ := sig.checkForm(now)
	ok, err := h.cfg.Replay.ClaimSignature(r.Context(), sig.Value, ts.Add(SignatureWindow))
	switch {
	case engine.ErrorCode(err) == engine.Invalid:
		// The database's clock puts the signature's expiry in the past (or too far ahead).
		return nil, &engine.Error{Code: codeUnauthorised, Message: TimestampHeader + " is outside the allowed window", Err: err}
	case err != nil:
		return nil, err
	case !ok:
		return nil, &engine.Error{Code: codeUnauthorised, Message: ErrReplayed.Error()}
	}
	return h.start(r.Context(), b.Request(), log)
}

// start runs an authenticated, decoded request within the budget.
func (h *Handler) start(ctx context.Context, req engine.Request, log *zap.Logger) (*engine.Report, error) {
	if req.Trigger == "" {
		req.Trigger = engine.TriggerHTTP
	}
	// The run outlives the client: pg_net gives up after its timeout, but a run cut half-way would only
	// waste work. Keep the values, drop the cancellation, bound by the budget.
	budget := h.Budget(ctx)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	if h.cfg.Stop != nil {
		defer context.AfterFunc(h.cfg.Stop, cancel)()
	}
	log.Debug("run requested", zap.Stringer("request", req), zap.Duration("budget", budget))
	rep, err := h.run.Run(rctx, req)
	return &rep, err
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

// authenticate checks what can be checked before the body is read. A call with any signature header is
// judged as signed (its signature is verified once the body is decoded; the raw secret is then
// ignored); any other call needs the raw secret, current or previous.
func (h *Handler) authenticate(hdr http.Header, sig Signature) error {
	if sig.Present() {
		if _, err := sig.checkForm(h.cfg.Now()); err != nil {
			return signatureError(err)
		}
		if h.cfg.Replay == nil {
			return &engine.Error{Code: engine.Internal, Message: "internal error",
				Err: errors.New("signed call refused: no replay guard is configured, so the signature could be replayed")}
		}
		return nil
	}
	if secretMatches(hdr.Get(SecretHeader), h.cfg.Secret, h.cfg.PreviousSecret) {
		return nil
	}
	return &engine.Error{Code: codeUnauthorised, Message: "missing or wrong " + SecretHeader + " or " + SignatureHeader}
}

// signatureError is the answer to a refused signature.
func signatureError(err error) error {
	if errors.Is(err, ErrStale) {
		return &engine.Error{Code: codeUnauthorised, Message: TimestampHeader + " is more than 300 s away from the server's clock"}
	}
	return &engine.Error{Code: codeUnauthorised, Message: "missing or wrong " + SignatureHeader + " (signature " + signatureVersion +
		" over " + TimestampHeader + ", " + NonceHeader + ", the method, the path and the body)"}
}

// Codes of the HTTP layer itself, beside the engine's.
const (
	codeMethod       engine.Code = "method_not_allowed"
	codeUnauthorised engine.Code = "unauthorised"
	codeTooLarge     engine.Code = "body_too_large"
	codeHeaders      engine.Code = "headers_too_large"
	codeSlowBody     engine.Code = "request_timeout"
)

// MaxHeaderBytes caps the request's headers (names and values); larger ones get 431 before anything else.
// The server's own hard cap (net/http's MaxHeaderBytes, 1 MiB) answers without JSON.
const MaxHeaderBytes = 16 << 10

// BodyTimeout is how long the body may take to arrive once the headers are in: a client that trickles
// it (slow loris) gets 408 instead of holding a connection for the whole run budget.
const BodyTimeout = 10 * time.Second

// statusOf is the one table from error codes to HTTP status codes.
var statusOf = map[engine.Code]int{
	engine.Invalid:     http.StatusBadRequest,
	CodeMediaType:      http.StatusUnsupportedMediaType,
	codeUnauthorised:   http.StatusUnauthorized,
	codeMethod:         http.StatusMethodNotAllowed,
	codeTooLarge:       http.StatusRequestEntityTooLarge,
	codeHeaders:        http.StatusRequestHeaderFieldsTooLarge,
	codeSlowBody:       http.StatusRequestTimeout,
	engine.Conflict:    http.StatusConflict,
	engine.Unavailable: http.StatusServiceUnavailable,
	engine.Internal:    http.StatusInternalServerError,
	// The app's data does not hold the source contract: the operator must fix the mapping (the message
	// names the problem); the run is recorded as failed and the watchdog raises source_contract.
	engine.SourceContract: http.StatusInternalServerError,
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

// respond writes the report, or maps err to its status through statusOf.
func (h *Handler) respond(w http.ResponseWriter, log *zap.Logger, rep *engine.Report, err error) {
	if err == nil {
		log.Info("run answered", zap.String("run_id", rep.RunID), zap.String("status", string(rep.Status)),
			zap.String("trigger", rep.Trigger), zap.Int64("duration_ms", rep.DurationMS))
		writeJSON(w, http.StatusOK, rep)
		return
	}
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
		if code == engine.Internal || code == engine.Conflict {
			detail.Message = "internal error"
		}
		if rep != nil && rep.RunID != "" {
			log = log.With(zap.String("run_id", rep.RunID))
		}
		log.Error("request failed", zap.Int("status", status), zap.String("error_id", detail.ErrorID), zap.Error(err))
	case status == http.StatusUnauthorized:
		// Someone without the secret, or a replay: worth a look. The reason repeats no more than a short
		// excerpt of the input, and never a header value.
		log.Warn("request rejected", zap.Int("status", status), zap.String("reason", detail.Message))
	default:
		log.Info("request rejected", zap.Int("status", status), zap.String("reason", detail.Message))
	}
	writeJSON(w, status, ErrorBody{Error: detail})
}

func newErrorID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
