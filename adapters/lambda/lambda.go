package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
)

// Handler is the Lambda function. It implements aws-lambda-go's lambda.Handler.
type Handler struct {
	http      *httpfn.Handler
	requestID *RequestID
}

// New returns the function over the shared HTTP handler. requestID, when not nil, is set to each
// invocation's request id for the logger (see NewLogger).
func New(h *httpfn.Handler, requestID *RequestID) *Handler {
	return &Handler{http: h, requestID: requestID}
}

// Invoke implements lambda.Handler. Every outcome, error responses included, is a successful invocation
// whose payload says what happened: a Function URL response, or for raw invocations the report or the
// error body.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if lc, ok := lambdacontext.FromContext(ctx); ok && h.requestID != nil {
		h.requestID.Set(lc.AwsRequestID)
		defer h.requestID.Set("")
	}
	ev, ok := functionURLEvent(payload)
	if !ok {
		_, body := h.http.Direct(ctx, payload)
		return body, nil
	}
	req, err := toHTTP(ctx, ev)
	if err != nil {
		return json.Marshal(events.LambdaFunctionURLResponse{StatusCode: http.StatusBadRequest,
			Headers: map[string]string{"content-type": "application/json"},
			Body:    `{"error":{"code":"invalid","message":"body is not valid base64"}}`})
	}
	w := &responseWriter{header: http.Header{}}
	h.http.ServeHTTP(w, req)
	return json.Marshal(w.response())
}

// functionURLEvent recognises a Function URL (or API Gateway HTTP API) payload 2.0. Anything else is a
// raw invocation: a caller with only the URL's permission cannot produce one, since Lambda always wraps
// URL requests in this envelope.
func functionURLEvent(payload []byte) (events.LambdaFunctionURLRequest, bool) {
	var probe struct {
		Version        string          `json:"version"`
		RequestContext json.RawMessage `json:"requestContext"`
	}
	var ev events.LambdaFunctionURLRequest
	if json.Unmarshal(payload, &probe) != nil || probe.Version != "2.0" ||
		len(probe.RequestContext) == 0 || string(probe.RequestContext) == "null" {
		return ev, false
	}
	if json.Unmarshal(payload, &ev) != nil {
		return ev, false
	}
	return ev, true
}

// toHTTP rebuilds the HTTP request a Function URL received. Lambda lowercases header names and joins
// repeated headers with commas; http.Header canonicalises the names again.
func toHTTP(ctx context.Context, ev events.LambdaFunctionURLRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, err
		}
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	path := ev.RawPath
	if path == "" {
		path = "/"
	}
	url := "https://" + ev.RequestContext.DomainName + path
	if ev.RawQueryString != "" {
		url += "?" + ev.RawQueryString
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	return req, nil
}

// responseWriter collects the handler's response for the Function URL.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

func (w *responseWriter) response() events.LambdaFunctionURLResponse {
	r := events.LambdaFunctionURLResponse{StatusCode: w.status, Headers: map[string]string{}, Body: w.body.String()}
	if r.StatusCode == 0 {
		r.StatusCode = http.StatusOK
	}
	for k, v := range w.header {
		r.Headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	return r
}
