package httpfn_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
)

// TestQueryStringAfterAuthentication: a secret put in the URL (POST /?secret=<secret>) is never repeated,
// in the answer or in any log line, whatever the call's authentication. Without a valid secret or
// signature the answer is 401, whatever the query string; with one it is 400 naming the parameters, never
// their values. The engine is never called and no signature is claimed.
func TestQueryStringAfterAuthentication(t *testing.T) {
	t.Parallel()
	// A secret as the deployments make them: 64 hex characters.
	const key = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	const previous = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
	var logs bytes.Buffer
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(&logs), zapcore.DebugLevel))
	guard := &claimCounter{}
	h := httpfn.New(panicRunner{}, httpfn.Config{Secret: key, PreviousSecret: previous, Replay: guard, Logger: log})

	raw := map[string]string{httpfn.SecretHeader: key, "Content-Type": "application/json"}
	wrong := map[string]string{httpfn.SecretHeader: strings.Repeat("0", len(key))}
	good := signed(key, time.Now(), `{"dry_run":true}`)
	bad := signed(strings.Repeat("k", 64), time.Now(), `{"dry_run":true}`)
	cases := []struct {
		name, target string
		header       map[string]string
		status       int
		message      string
	}{
		{"no authentication", "/?secret=" + key, nil, 401, ""},
		{"a wrong secret", "/?secret=" + key, wrong, 401, ""},
		{"a wrong signature", "/?secret=" + key, bad, 401, ""},
		{"a signature without its nonce", "/?secret=" + key, without(good, httpfn.NonceHeader), 401, ""},
		{"the secret in the header too", "/?secret=" + key, raw, 400, `(got parameters "secret"; values are not shown)`},
		{"the previous secret", "/?dry_run=true&secret=" + previous, raw, 400, `(got parameters "dry_run", "secret"; values are not shown)`},
		{"a bare secret", "/?" + key, raw, 400, `(got 1 without a name; values are not shown)`},
		{"a bare body field and a bare secret", "/?dry_run&" + key, raw, 400, `(got parameters "dry_run"; 1 without a name; values are not shown)`},
		{"an escaped name", "/?dry%5Frun=" + key, raw, 400, `(got parameters "dry_run"; values are not shown)`},
		{"a bare question mark", "/?", raw, 400, `(got an empty query string)`},
		{"a valid signature", "/?secret=" + key, good, 400, `(got parameters "secret"; values are not shown)`},
		{"many parameters", "/?a=1&b=2&c=3&d=4&e=5&f=6&g=" + key, raw, 400, `(got parameters "a", "b", "c", "d", "e", and 2 more; values are not shown)`},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(http.MethodPost, tc.target, strings.NewReader(`{"dry_run":true}`))
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var got httpfn.ErrorBody
		_ = json.Unmarshal(w.Body.Bytes(), &got)
		if w.Code != tc.status || !strings.HasSuffix(got.Error.Message, tc.message) {
			t.Errorf("%s: %d %s, want %d ending %q", tc.name, w.Code, w.Body, tc.status, tc.message)
		}
		if tc.status == 400 && !strings.HasPrefix(got.Error.Message, "query-string parameters are not accepted") {
			t.Errorf("%s: %q does not say why", tc.name, got.Error.Message)
		}
		for _, s := range []string{key, previous} {
			if leak := sharedRun(w.Body.String(), s, 8); leak != "" {
				t.Errorf("%s: the answer repeats %q of a secret: %s", tc.name, leak, w.Body)
			}
		}
	}
	if n := strings.Count(logs.String(), `"msg":"request rejected"`); n != len(cases) {
		t.Errorf("%d rejections logged, want %d:\n%s", n, len(cases), logs.String())
	}
	for _, s := range []string{key, previous} {
		if leak := sharedRun(logs.String(), s, 8); leak != "" {
			t.Errorf("the logs repeat %q of a secret:\n%s", leak, logs.String())
		}
	}
	if guard.n != 0 {
		t.Errorf("%d signatures claimed, want none", guard.n)
	}
}

// sharedRun is the first substring of secret, n bytes long, that s contains, or "".
func sharedRun(s, secret string, n int) string {
	for i := 0; i+n <= len(secret); i++ {
		if strings.Contains(s, secret[i:i+n]) {
			return secret[i : i+n]
		}
	}
	return ""
}
