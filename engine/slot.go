package engine

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Slot names the organisations evaluated together at one local hour: those whose time zone is Zone and
// whose send hour is Hour (scheduler.organisation_slots). It is written "<zone>@<HH>", for example
// "Europe/Oslo@08". A run of a slot evaluates only those organisations' mentors, for the slot's local date
// (an empty evaluation date is today in Zone), and has its own checkpoints. The zero Slot is the whole
// project: every organisation, dated in the engine's time zone.
type Slot struct {
	// Zone is an IANA time zone name ("Europe/Oslo").
	Zone string
	// Hour is the local send hour, 0 to 23.
	Hour int
}

// zoneForm is what a slot's zone may look like (the database's scheduler.slot_form checks the same): an IANA
// name of at most three parts, no "." or "..", no leading "/".
var zoneForm = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$`)

// ParseSlot reads "<zone>@<HH>" as the HTTP contract carries it: a time zone the engine knows (the binary
// embeds the IANA database) and a two-digit hour 00 to 23. Errors are *Error with Code Invalid.
func ParseSlot(s string) (Slot, error) {
	zone, hh, ok := strings.Cut(s, "@")
	if !ok || len(hh) != 2 || hh[0] < '0' || hh[0] > '2' || hh[1] < '0' || hh[1] > '9' {
		return Slot{}, badSlot(s)
	}
	hour, err := strconv.Atoi(hh)
	if err != nil || zone == "" {
		return Slot{}, badSlot(s)
	}
	slot := Slot{Zone: zone, Hour: hour}
	if _, err := slot.location(nil); err != nil {
		return Slot{}, err
	}
	return slot, nil
}

// badSlot is the error for a slot of the wrong form.
func badSlot(s string) error {
	return Errorf(Invalid, "slot must be \"<time zone>@<HH>\" (for example \"Europe/Oslo@08\"), got %q", excerpt(s))
}

// Whole reports whether s is the whole project (the zero Slot).
func (s Slot) Whole() bool { return s.Zone == "" }

// String is "<zone>@<HH>", or "" for the whole project.
func (s Slot) String() string {
	if s.Whole() {
		return ""
	}
	return fmt.Sprintf("%s@%02d", s.Zone, s.Hour)
}

// location judges the slot, however it was built (ParseSlot, or by hand), and loads its time zone: the one
// place where Go decides what a slot may be. The zone has the form the database's scheduler.slot_form
// also checks (zoneForm) and is known to the engine; the hour is 0 to 23. The whole project's location is
// def. Errors are *Error with Code Invalid.
func (s Slot) location(def *time.Location) (*time.Location, error) {
	if s.Whole() {
		return def, nil
	}
	if len(s.Zone) > 64 || !zoneForm.MatchString(s.Zone) || s.Hour < 0 || s.Hour > 23 {
		return nil, badSlot(s.String())
	}
	// "Local" is the machine's zone, not a place.
	if s.Zone == "Local" {
		return nil, Errorf(Invalid, "slot: %q is not a time zone name", s.Zone)
	}
	loc, err := time.LoadLocation(s.Zone)
	if err != nil {
		return nil, Errorf(Invalid, "slot: unknown time zone %q", excerpt(s.Zone))
	}
	return loc, nil
}

// Part is the part of the mentors one run evaluates: the mentors of a slot's organisations (the zero Slot:
// every organisation), cut into a key range by the shard (Normal: 1 of 1 for the whole range). Each part
// of a date and scenario has its own checkpoint.
type Part struct {
	Slot  Slot
	Shard Shard
}
