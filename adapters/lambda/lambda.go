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
	"go.uber.org/zap"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/engine"
)

// Handler is the Lambda function. It implements aws-lambda-go's lambda.Handler.
type Handler struct {
	http *httpfn.Handler
}

// New returns the function over the shared HTTP handler.
func New(h *httpfn.Handler) *Handler {
	return &Handler{http: h}
}

// Invoke implements lambda.Handler. Every outcome, error responses included, is a successful invocation
// whose payload says what happened: a Function URL response, or for raw invocations the report or the
// error body. The invocation's request id goes on the context (engine.WithLogFields), so every log line
// of this invocation, the engine's included, carries it as requestId, and no other invocation's does.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		ctx = engine.WithLogFields(ctx, zap.String(RequestIDKey, lc.AwsRequestID))
	}
	ev, ok := functionURLEvent(payload)
	if !ok {
		_, body := h.http.Direct(ctx, payload)
		return body, nil
	}
	w := httpfn.NewRecorder()
	if req, err := toHTTP(ctx, ev); err != nil {
		h.http.WriteError(ctx, w, err)
	} else {
		h.http.ServeHTTP(w, req)
	}
	return json.Marshal(response(w))
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
// repeated headers with commas; http.Header canonicalises the names again. The query string is passed on
// as received, unparsed, so that the handler judges it after authentication like any other (a parse
// error here would answer before it, and quote the URL). Errors are *engine.Error with Code Invalid.
func toHTTP(ctx context.Context, ev events.LambdaFunctionURLRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, &engine.Error{Code: engine.Invalid, Message: "body is not valid base64", Err: err}
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
	req, err := http.NewRequestWithContext(ctx, method, "https://"+ev.RequestContext.DomainName+path, bytes.NewReader(body))
	if err != nil {
		return nil, &engine.Error{Code: engine.Invalid, Message: "the request's host or path is malformed", Err: err}
	}
	req.URL.RawQuery = ev.RawQueryString
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	return req, nil
}

// response is the Function URL response of what the handler wrote. Lambda wants lowercase header names.
func response(w *httpfn.Recorder) events.LambdaFunctionURLResponse {
	r := events.LambdaFunctionURLResponse{StatusCode: w.Status(), Headers: map[string]string{}, Body: string(w.Body())}
	for k, v := range w.Header() {
		r.Headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	return r
}
