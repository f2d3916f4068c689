package fcm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/peermentor/scenario-scheduler/engine"
)

// Scope is the OAuth2 scope of the FCM HTTP v1 API.
const Scope = "https://www.googleapis.com/auth/firebase.messaging"

// DefaultEndpoint is FCM's API host.
const DefaultEndpoint = "https://fcm.googleapis.com"

// Config configures the FCM sender. Zero values take the defaults noted.
type Config struct {
	// ProjectID is the Firebase project (default: the service account's project_id).
	ProjectID string
	// CredentialsJSON is a service-account key file's content. Nil means Application Default Credentials
	// (GOOGLE_APPLICATION_CREDENTIALS, or the runtime's service account on Google Cloud).
	CredentialsJSON []byte
	// Endpoint is the API's base URL (default DefaultEndpoint); tests point it at a local server.
	Endpoint string
	// Concurrency bounds the requests in flight over all Send calls (default 16).
	Concurrency int
	// RequestTimeout bounds one request (default 10 s); the caller's deadline bounds it further.
	RequestTimeout time.Duration
	// MaxAttempts bounds the requests for one message (default 4).
	MaxAttempts int
	// Backoff is the first retry's wait after a 500, a 503 or a network error, doubled per retry up to
	// MaxBackoff (defaults 250 ms and 8 s), with jitter; a Retry-After answer overrides it. A quota error
	// (429) is retried here only after its Retry-After: without one it is returned at once, and the engine
	// stops the pass and backs the notification off.
	Backoff, MaxBackoff time.Duration
	// Transport carries the requests (default: a clone of http.DefaultTransport).
	Transport http.RoundTripper
	// Logger receives retries (default: none).
	Logger *zap.Logger
}

// Sender sends through FCM HTTP v1. It is safe for concurrent use.
type Sender struct {
	cfg    Config
	url    string
	tokens oauth2.TokenSource
	client *http.Client
	sem    chan struct{}
	log    *zap.Logger
}

var _ engine.Sender = (*Sender)(nil)

// New reads the credentials and returns a Sender. No request is made until the first Send.
func New(ctx context.Context, cfg Config) (*Sender, error) {
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 4
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 8 * time.Second
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}

	// The token source outlives ctx: it refreshes the access token for as long as the sender lives.
	tctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &http.Client{Transport: cfg.Transport, Timeout: cfg.RequestTimeout})
	var creds *google.Credentials
	var err error
	if cfg.CredentialsJSON != nil {
		creds, err = google.CredentialsFromJSONWithType(tctx, cfg.CredentialsJSON, google.ServiceAccount, Scope)
	} else {
		creds, err = google.FindDefaultCredentials(tctx, Scope)
	}
	if err != nil {
		return nil, fmt.Errorf("fcm: reading the service account: %w", err)
	}
	if cfg.ProjectID == "" {
		cfg.ProjectID = creds.ProjectID
	}
	if cfg.ProjectID == "" {
		return nil, fmt.Errorf("fcm: no project id: set FCM_PROJECT_ID or use a service account key with project_id")
	}
	return &Sender{
		cfg:    cfg,
		url:    strings.TrimRight(cfg.Endpoint, "/") + "/v1/projects/" + cfg.ProjectID + "/messages:send",
		tokens: oauth2.ReuseTokenSource(nil, creds.TokenSource),
		client: &http.Client{Transport: cfg.Transport},
		sem:    make(chan struct{}, cfg.Concurrency),
		log:    cfg.Logger,
	}, nil
}

// ProjectID is the Firebase project the sender sends for.
func (s *Sender) ProjectID() string { return s.cfg.ProjectID }

// message is the v1 request body.
type message struct {
	Message struct {
		Token        string            `json:"token"`
		Notification map[string]string `json:"notification"`
		Data         map[string]string `json:"data,omitempty"`
		Android      *android          `json:"android,omitempty"`
		APNS         *apns             `json:"apns,omitempty"`
	} `json:"message"`
}

type android struct {
	CollapseKey string `json:"collapse_key,omitempty"`
	TTL         string `json:"ttl,omitempty"`
}

type apns struct {
	Headers map[string]string `json:"headers,omitempty"`
}

// Send implements engine.Sender: one message to one device, retried on 429/500/503 and network errors
// while ctx's deadline allows.
func (s *Sender) Send(ctx context.Context, m engine.Message) (engine.Result, error) {
	var body message
	body.Message.Token = m.Token
	body.Message.Notification = map[string]string{"title": m.Title, "body": m.Body}
	body.Message.Data = m.Data
	body.Message.Android, body.Message.APNS = &android{CollapseKey: m.CollapseKey}, &apns{Headers: map[string]string{}}
	if m.CollapseKey != "" {
		body.Message.APNS.Headers["apns-collapse-id"] = m.CollapseKey
	}
	if m.TTL > 0 {
		// Time to live: Android counts seconds from now, APNs takes the moment (UNIX seconds).
		secs := max(int64(m.TTL/time.Second), 1)
		body.Message.Android.TTL = strconv.FormatInt(secs, 10) + "s"
		body.Message.APNS.Headers["apns-expiration"] = strconv.FormatInt(time.Now().Unix()+secs, 10)
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return engine.Result{}, &engine.SendError{Class: "encoding", Err: err}
	}

	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return engine.Result{}, ctx.Err()
	}

	var last *failure
	for attempt := 1; ; attempt++ {
		id, f := s.attempt(ctx, payload)
		if f == nil {
			return engine.Result{Attempts: attempt, ID: id}, nil
		}
		if ctx.Err() != nil && last != nil {
			// The caller's deadline cut a retry: the service's last answer says more than the cut.
			f = last
		}
		last = f
		f.err.Attempts = attempt
		if !f.retryNow || attempt >= s.cfg.MaxAttempts || ctx.Err() != nil {
			return engine.Result{Attempts: attempt}, f.err
		}
		wait := f.retryAfter
		if wait <= 0 {
			wait = s.backoff(attempt)
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) <= wait {
			// Waiting would end past the deadline: leave the message for the next call.
			return engine.Result{Attempts: attempt}, f.err
		}
		s.log.Debug("fcm: retrying", zap.Int64("notification_id", m.NotificationID), zap.String("class", f.err.Class),
			zap.Int("attempt", attempt), zap.Duration("wait", wait))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return engine.Result{Attempts: attempt}, f.err
		}
	}
}

// backoff is the wait before retry number attempt (1-based): exponential with full jitter in its upper half.
func (s *Sender) backoff(attempt int) time.Duration {
	d := min(s.cfg.Backoff<<min(attempt-1, 16), s.cfg.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// attempt makes one request. It returns the message name, or the failure.
func (s *Sender) attempt(ctx context.Context, payload []byte) (string, *failure) {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.url, bytes.NewReader(payload))
	if err != nil {
		return "", &failure{err: &engine.SendError{Class: "request", Err: err}}
	}
	auth, err := s.authorization(rctx)
	if err != nil {
		return "", transportFailure(rctx, err)
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := s.client.Do(req)
	if err != nil {
		return "", transportFailure(rctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", transportFailure(rctx, err)
	}
	if resp.StatusCode == http.StatusOK {
		var ok struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(data, &ok)
		return ok.Name, nil
	}
	return "", answerFailure(resp, data)
}

// authorization returns the Authorization header value, fetching or refreshing the access token when needed.
// A token source takes no context, so the fetch runs aside and ctx bounds only the wait for it: a hanging
// token endpoint never holds a send past its deadline.
func (s *Sender) authorization(ctx context.Context) (string, error) {
	type result struct {
		tok *oauth2.Token
		err error
	}
	ch := make(chan result, 1)
	go func() {
		tok, err := s.tokens.Token()
		ch <- result{tok, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return "", r.err
		}
		return r.tok.Type() + " " + r.tok.AccessToken, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
