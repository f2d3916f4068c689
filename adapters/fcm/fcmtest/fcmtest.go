// Package fcmtest is a local stand-in for Firebase Cloud Messaging's HTTP v1 API and Google's OAuth2 token
// endpoint, on loopback, for tests. Each device token can be given a script of answers (success, 429 with
// Retry-After, 503, UNREGISTERED, a token-related INVALID_ARGUMENT, a slow answer, a dropped connection);
// the server records every request and checks the bearer token it issued from a signed JWT assertion.
package fcmtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// ProjectID is the Firebase project the server answers for.
const ProjectID = "demo-project"

// Answer is how the server answers one request. The zero Answer is a success.
type Answer struct {
	// ErrorCode makes the answer an error: an FCM errorCode (UNREGISTERED, QUOTA_EXCEEDED, UNAVAILABLE,
	// INTERNAL, SENDER_ID_MISMATCH, INVALID_ARGUMENT, THIRD_PARTY_AUTH_ERROR).
	ErrorCode string
	// TokenViolation marks an INVALID_ARGUMENT as being about message.token.
	TokenViolation bool
	// RetryAfter is sent as the Retry-After header.
	RetryAfter string
	// Delay holds the answer back (until the client gives up, at most).
	Delay time.Duration
	// Drop closes the connection without an answer.
	Drop bool
}

// Canned answers.
var (
	OK           = Answer{}
	Unregistered = Answer{ErrorCode: "UNREGISTERED"}
	InvalidToken = Answer{ErrorCode: "INVALID_ARGUMENT", TokenViolation: true}
	Unavailable  = Answer{ErrorCode: "UNAVAILABLE"}
	// SenderIDMismatch is what every token answers when the service account belongs to another project.
	SenderIDMismatch = Answer{ErrorCode: "SENDER_ID_MISMATCH"}
	Drop             = Answer{Drop: true}
)

// RateLimited is a 429 with a Retry-After header (seconds or an HTTP date).
func RateLimited(retryAfter string) Answer {
	return Answer{ErrorCode: "QUOTA_EXCEEDED", RetryAfter: retryAfter}
}

// Slow is a success held back for d.
func Slow(d time.Duration) Answer { return Answer{Delay: d} }

// Request is one send request the server received.
type Request struct {
	Token, Title, Body, CollapseKey string
	Data                            map[string]string
	// TTL is android.ttl ("3600s"), APNSExpiration the apns-expiration header (UNIX seconds).
	TTL, APNSExpiration string
	// Status is the HTTP status answered (0: the connection was dropped).
	Status int
	// Delivered: answered 200 to a client that was still waiting.
	Delivered bool
}

// Server is the stand-in. Its URL is the FCM endpoint; the token endpoint is URL + "/token".
type Server struct {
	URL string

	key *rsa.PrivateKey
	srv *httptest.Server

	mu            sync.Mutex
	scripts       map[string][]Answer
	fallback      Answer
	requests      []Request
	tokens        map[string]bool
	tokenRequests int
	tokenDelay    time.Duration
	refuseTokens  bool
	inFlight, max int
}

// New starts a server on loopback, closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{key: key, scripts: map[string][]Answer{}, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", s.send)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// CredentialsJSON is a service-account key whose token_uri is this server's token endpoint.
func (s *Server) CredentialsJSON() []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(s.key)
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": ProjectID, "private_key_id": "test-key-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "scheduler@" + ProjectID + ".iam.gserviceaccount.com", "client_id": "1",
		"token_uri": s.URL + "/token",
	})
	return b
}

// Script sets the answers to the next requests for token, in order; later requests get the fallback.
func (s *Server) Script(token string, answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[token] = append(s.scripts[token], answers...)
}

// Fallback sets the answer to requests without a script (default OK).
func (s *Server) Fallback(a Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = a
}

// TokenEndpoint makes the token endpoint answer after delay (until the client gives up, at most), and
// refuse the grant when refuse is set.
func (s *Server) TokenEndpoint(delay time.Duration, refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenDelay, s.refuseTokens = delay, refuse
}

// Requests returns every send request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Delivered returns the delivered requests per device token.
func (s *Server) Delivered() map[string][]Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string][]Request{}
	for _, r := range s.requests {
		if r.Delivered {
			m[r.Token] = append(m[r.Token], r)
		}
	}
	return m
}

// TokenRequests counts access tokens issued.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// Received counts the send requests answered so far (what Requests returns, without copying it).
func (s *Server) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// InFlight is the number of send requests the server is handling now.
func (s *Server) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight
}

// MaxInFlight is the most send requests the server was handling at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}

// token is the OAuth2 JWT-bearer grant: it checks the assertion's signature and scope.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	delay, refuse := s.tokenDelay, s.refuseTokens
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	claims, err := s.verify(r.Form.Get("assertion"))
	if err != nil || refuse || claims.Scope != "https://www.googleapis.com/auth/firebase.messaging" || claims.Aud != s.URL+"/token" {
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.tokenRequests++
	tok := fmt.Sprintf("access-%d", s.tokenRequests)
	s.tokens[tok] = true
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, tok)
}

type claims struct {
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
}

func (s *Server) verify(jwt string) (claims, error) {
	var c claims
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return c, fmt.Errorf("not a JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return c, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return c, err
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(payload, &c)
}

var statusOf = map[string]struct {
	http   int
	status string
}{
	"UNREGISTERED":           {404, "NOT_FOUND"},
	"INVALID_ARGUMENT":       {400, "INVALID_ARGUMENT"},
	"SENDER_ID_MISMATCH":     {403, "PERMISSION_DENIED"},
	"QUOTA_EXCEEDED":         {429, "RESOURCE_EXHAUSTED"},
	"UNAVAILABLE":            {503, "UNAVAILABLE"},
	"INTERNAL":               {500, "INTERNAL"},
	"THIRD_PARTY_AUTH_ERROR": {401, "UNAUTHENTICATED"},
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.inFlight++
	s.max = max(s.max, s.inFlight)
	authorised := s.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()

	var body struct {
		Message struct {
			Token        string            `json:"token"`
			Notification map[string]string `json:"notification"`
			Data         map[string]string `json:"data"`
			Android      struct {
				CollapseKey string `json:"collapse_key"`
				TTL         string `json:"ttl"`
			} `json:"android"`
			APNS struct {
				Headers map[string]string `json:"headers"`
			} `json:"apns"`
		} `json:"message"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload received.", false)
		return
	}
	m := body.Message
	req := Request{Token: m.Token, Title: m.Notification["title"], Body: m.Notification["body"], Data: m.Data,
		CollapseKey: m.Android.CollapseKey, TTL: m.Android.TTL, APNSExpiration: m.APNS.Headers["apns-expiration"]}

	s.mu.Lock()
	a := s.fallback
	if q := s.scripts[m.Token]; len(q) > 0 {
		a, s.scripts[m.Token] = q[0], q[1:]
	}
	s.mu.Unlock()
	record := func(status int, delivered bool) {
		req.Status, req.Delivered = status, delivered
		s.mu.Lock()
		s.requests = append(s.requests, req)
		s.mu.Unlock()
	}

	switch {
	case !authorised:
		record(401, false)
		writeError(w, 401, "UNAUTHENTICATED", "", "Request had invalid authentication credentials.", false)
		return
	case r.PathValue("project") != ProjectID:
		record(404, false)
		writeError(w, 404, "NOT_FOUND", "", "Requested entity was not found.", false)
		return
	case a.Drop:
		record(0, false)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	if a.Delay > 0 {
		t := time.NewTimer(a.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	if a.ErrorCode != "" {
		st := statusOf[a.ErrorCode]
		record(st.http, false)
		detail := a.ErrorCode
		msg := "Request failed: " + a.ErrorCode
		if a.TokenViolation {
			msg = "The registration token is not a valid FCM registration token"
		}
		writeError(w, st.http, st.status, detail, msg, a.TokenViolation)
		return
	}
	record(200, r.Context().Err() == nil)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"name":"projects/%s/messages/%d"}`, ProjectID, time.Now().UnixNano())
}

func writeError(w http.ResponseWriter, code int, status, errorCode, msg string, tokenViolation bool) {
	var details []map[string]any
	if errorCode != "" {
		details = append(details, map[string]any{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": errorCode})
	}
	if tokenViolation {
		details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.BadRequest",
			"fieldViolations": []map[string]string{{"field": "message.token", "description": msg}}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": msg, "status": status, "details": details}})
}
