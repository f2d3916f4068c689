package httpfn_test

import (
	"strings"
	"testing"
	"time"
)

// TestSlotOfNoPlace: a slot whose zone is no place (tzdata's pseudo-zones Factory, posixrules and localtime,
// a system's posix/ and right/ copies, a legacy alias), though Go's zone database may load it, is refused
// with 400 and writes nothing, with the raw secret and with a signature; before, it ran and checkpointed
// an evaluation of nobody. UTC and Etc/UTC are places enough: they run.
func TestSlotOfNoPlace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, slot := range []string{"posixrules@08", "Factory@08", "localtime@08", "posix/Europe/Oslo@08",
		"right/Europe/Oslo@08", "US/Eastern@08", "CET@08"} {
		body := `{"slot":"` + slot + `"}`
		for _, auth := range []string{"secret", "signed"} {
			hdr := authed("application/json")
			if auth == "signed" {
				hdr = signed(secret, time.Now(), body)
			}
			res := b.do(t, request{header: hdr, body: body})
			if msg := errorMessage(res); res.status != 400 || !strings.Contains(msg, "is not the time zone of a place") {
				t.Errorf("%s, %s: %d %q, want 400 refusing the zone", slot, auth, res.status, msg)
			}
		}
	}
	if n := b.writes(t); n != 0 {
		t.Fatalf("slots of no place wrote %d rows (runs, checkpoints, notifications); want none", n)
	}

	// The control: UTC and Etc/UTC run (their slots hold no organisation, so they notify nobody).
	for _, slot := range []string{"UTC@08", "Etc/UTC@08"} {
		body := `{"slot":"` + slot + `"}`
		if res := b.do(t, request{header: signed(secret, time.Now(), body), body: body}); res.status != 200 || res.json["slot"] != slot {
			t.Errorf("%s: %d %s, want 200", slot, res.status, res.raw)
		}
	}
	if n := b.count(t, `select count(*) from scheduler.runs where report->>'slot' in ('UTC@08', 'Etc/UTC@08')`); n != 2 {
		t.Fatalf("%d runs of the UTC slots recorded, want 2", n)
	}
}
