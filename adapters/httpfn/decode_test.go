package httpfn_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/httpfn"
	"github.com/peermentor/scenario-scheduler/engine"
)

// claimCounter is a replay guard that accepts every signature and counts the claims.
type claimCounter struct{ n int }

func (c *claimCounter) ClaimSignature(context.Context, string, time.Time) (bool, error) {
	c.n++
	return true, nil
}

// TestUnknownFieldRefusedOnEveryPath: a field the body does not have is refused with 400 naming it and the
// field it was probably meant to be, with the raw secret, with a signature and as a direct (Lambda console)
// invocation alike; the engine is never called and no signature is claimed. A misspelt dry_run that was
// ignored would have made a real run of a dry one.
func TestUnknownFieldRefusedOnEveryPath(t *testing.T) {
	t.Parallel()
	guard := &claimCounter{}
	h := httpfn.New(panicRunner{}, httpfn.Config{Secret: secret, Replay: guard})
	lower := `: field names are lower case`
	fields := `: the fields are evaluation_date, scenarios, dry_run, deliver_only, trigger, job, caller, shard, slot`
	cases := []struct{ body, message string }{
		{`{"dry-run":true}`, `unknown field "dry-run": did you mean "dry_run"?`},
		{`{"dryRun":true}`, `unknown field "dryRun": did you mean "dry_run"?`},
		{`{"dry_runn":true}`, `unknown field "dry_runn": did you mean "dry_run"?`},
		{`{"DRY_RUN":true}`, `field "DRY_RUN" is not "dry_run"` + lower},
		{`{"dry run":true}`, `unknown field "dry run": did you mean "dry_run"?`},
		{`{"dryrun":true,"evaluation_date":"2026-11-26"}`, `unknown field "dryrun": did you mean "dry_run"?`},
		{`{"evaluation_date":"2026-11-26","evalution_date":"2026-11-25"}`, `unknown field "evalution_date": did you mean "evaluation_date"?`},
		{`{"deliverOnly":true}`, `unknown field "deliverOnly": did you mean "deliver_only"?`},
		{`{"scenario":["inactivity"]}`, `unknown field "scenario": did you mean "scenarios"?`},
		{`{"shards":"1/2"}`, `unknown field "shards": did you mean "shard"?`},
		{`{"note":"hello","dry_run":true}`, `unknown field "note"` + fields},
		{`{"x":1}`, `unknown field "x"` + fields},
		// The first unknown field in the body's order, whatever else is wrong.
		{`{"b":1,"a":1,"scenarios":"wrong type"}`, `unknown field "b"` + fields},
		{`{"trigger":"cron","job":"daily","version":"2.0"}`, `unknown field "version"` + fields},
	}
	for _, tc := range cases {
		for _, path := range []string{"secret", "signed", "direct"} {
			var status int
			var raw []byte
			if path == "direct" {
				status, raw = h.Direct(context.Background(), []byte(tc.body))
			} else {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
				hdr := authed("application/json")
				if path == "signed" {
					hdr = signed(secret, time.Now(), tc.body)
				}
				for k, v := range hdr {
					r.Header.Set(k, v)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				status, raw = w.Code, w.Body.Bytes()
			}
			var got httpfn.ErrorBody
			_ = json.Unmarshal(raw, &got)
			if status != 400 || got.Error.Code != "invalid" || got.Error.Message != tc.message {
				t.Errorf("%s %s: %d %s\nwant 400 invalid %q", path, tc.body, status, raw, tc.message)
			}
		}
	}
	if guard.n != 0 {
		t.Errorf("%d signatures claimed for refused bodies, want none", guard.n)
	}
}

// TestDecodeNamesTheNearestField: Decode and DecodeSigned give the same verdict, and a name that is close to no
// field (a long one, a short one) gets the list of fields instead of a guess.
func TestDecodeNamesTheNearestField(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"dry_run":true,"b":1}`:                   `unknown field "b": the fields`,
		`{"jobs":"daily"}`:                         `unknown field "jobs": did you mean "job"?`,
		`{"slots":"Europe/Oslo@08"}`:               `unknown field "slots": did you mean "slot"?`,
		`{"evaluationDate":"2026-11-26"}`:          `unknown field "evaluationDate": did you mean "evaluation_date"?`,
		`{"Evaluation-Date":"2026-11-26"}`:         `unknown field "Evaluation-Date": did you mean "evaluation_date"?`,
		`{"date":"2026-11-26"}`:                    `unknown field "date": the fields`,
		`{"` + strings.Repeat("d", 10000) + `":1}`: `unknown field "` + strings.Repeat("d", 32) + `…": the fields`,
	} {
		_, err := httpfn.Decode("application/json", []byte(body))
		_, signedErr := httpfn.DecodeSigned("application/json", []byte(body))
		msg := engine.ErrorMessage(err)
		if engine.ErrorCode(err) != engine.Invalid || !strings.HasPrefix(msg, want) || engine.ErrorMessage(signedErr) != msg {
			t.Errorf("%.60s: %v / %v, want both to start %q", body, err, signedErr, want)
		}
	}
	// The control: the fields themselves are accepted.
	if _, err := httpfn.Decode("application/json", []byte(`{"dry_run":true,"evaluation_date":"2026-11-26","scenarios":[]}`)); err != nil {
		t.Fatalf("known fields: %v", err)
	}
}
