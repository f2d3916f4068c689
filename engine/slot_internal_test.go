package engine

import (
	"strings"
	"testing"
	"time"
)

func TestParseSlot(t *testing.T) {
	for _, in := range []string{"Europe/Oslo@08", "America/New_York@00", "Asia/Tokyo@23", "UTC@12",
		"America/Argentina/Buenos_Aires@07", "Etc/GMT+5@06", "Etc/UTC@08", "Antarctica/Troll@08",
		"Pacific/Kiritimati@08", "Indian/Maldives@08", "Atlantic/Reykjavik@08", "Arctic/Longyearbyen@08",
		"Australia/Sydney@08", "Africa/Lagos@08"} {
		s, err := ParseSlot(in)
		loc, lerr := s.location(nil)
		if err != nil || s.String() != in || loc == nil || lerr != nil {
			t.Errorf("ParseSlot(%q) = %+v, %v (location %v, %v); want it back", in, s, err, loc, lerr)
		}
	}
	for _, in := range []string{"", "@08", "Europe/Oslo", "Europe/Oslo@8", "Europe/Oslo@24", "Europe/Oslo@-1",
		"Europe/Oslo@008", "Europe/Oslo@08 ", " Europe/Oslo@08", "Europe/Oslo@@08", "Mars/Olympus@08", "Local@08",
		"../etc/passwd@08", "/etc/localtime@08", "Europe/./Oslo@08", "Europe/Oslo\x00@08", "europe/oslo@08"} {
		if s, err := ParseSlot(in); err == nil || ErrorCode(err) != Invalid {
			t.Errorf("ParseSlot(%q) = %+v, %v; want an invalid-request error", in, s, err)
		}
	}
	// Names that Go's zone database (or the machine's) loads, but that are no place: tzdata's pseudo-zones,
	// the posix/ and right/ trees of a system's zoneinfo, legacy names and aliases, and an area without a
	// location.
	for _, in := range []string{"posixrules@08", "Factory@08", "localtime@08", "posix/Europe/Oslo@08",
		"right/Europe/Oslo@08", "CET@08", "EST5EDT@08", "GMT@08", "Universal@08", "Japan@08", "US/Eastern@08",
		"Etc@08", "Europe@08"} {
		s, err := ParseSlot(in)
		if err == nil || ErrorCode(err) != Invalid || !strings.Contains(ErrorMessage(err), "is not the time zone of a place") {
			t.Errorf("ParseSlot(%q) = %+v, %v; want refused as no place", in, s, err)
		}
	}
}

// The evaluation date of a slot is today in the slot's time zone, and the window is around that today.
func TestSlotEvaluationDate(t *testing.T) {
	oslo := mustOslo()
	now := time.Date(2026, 3, 29, 16, 30, 0, 0, time.UTC) // 18:30 CEST, 01:30 JST on 30 March, 12:30 EDT
	for slot, want := range map[string]string{"": "2026-03-29", "Asia/Tokyo@08": "2026-03-30",
		"America/New_York@08": "2026-03-29", "Pacific/Kiritimati@08": "2026-03-30"} {
		r := Request{}
		if slot != "" {
			s, err := ParseSlot(slot)
			if err != nil {
				t.Fatal(err)
			}
			r.Slot = s
		}
		zone, err := r.zone(oslo)
		if err != nil {
			t.Fatal(err)
		}
		d, err := r.evaluationDate(now, zone)
		if err != nil || d.Format(DateLayout) != want {
			t.Errorf("slot %q: %s, %v; want %s", slot, d.Format(DateLayout), err, want)
		}
	}
	tokyo, _ := ParseSlot("Asia/Tokyo@08")
	// Two days ahead of Oslo's today is one day ahead of Tokyo's: allowed for Tokyo only.
	r := Request{EvaluationDate: "2026-03-31", Slot: tokyo}
	if _, err := r.evaluationDate(now, mustZone(t, r, oslo)); err != nil {
		t.Errorf("Tokyo, tomorrow: %v", err)
	}
	r.Slot = Slot{}
	if _, err := r.evaluationDate(now, mustZone(t, r, oslo)); ErrorCode(err) != Invalid {
		t.Errorf("whole project, two days ahead: %v, want invalid", err)
	}
	// A slot with deliver_only, or one built by hand with a bad hour or zone, is refused.
	for _, r := range []Request{{Slot: tokyo, DeliverOnly: true}, {Slot: Slot{Zone: "Asia/Tokyo", Hour: 24}},
		{Slot: Slot{Zone: "Nowhere/Land", Hour: 8}}, {Slot: Slot{Zone: "Local", Hour: 8}},
		{Slot: Slot{Zone: "../etc/passwd", Hour: 8}}, {Slot: Slot{Zone: "Europe/Oslo", Hour: -1}}} {
		if _, err := r.zone(oslo); ErrorCode(err) != Invalid {
			t.Errorf("%v: %v, want invalid", r, err)
		}
	}
}

// mustZone is the request's time zone (Request.zone), failing the test on an error.
func mustZone(t *testing.T, r Request, def *time.Location) *time.Location {
	t.Helper()
	zone, err := r.zone(def)
	if err != nil {
		t.Fatal(err)
	}
	return zone
}
