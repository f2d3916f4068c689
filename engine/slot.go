package engine

import (
	"fmt"
	"regexp"
	"slices"
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
	// Zone is an IANA time zone name of a place ("Europe/Oslo"), or UTC (see ParseSlot).
	Zone string
	// Hour is the local send hour, 0 to 23.
	Hour int
}

// zoneForm is what a slot's zone may look like (the database's scheduler.slot_form checks the same): an IANA
// name of at most three parts, no "." or "..", no leading "/".
var zoneForm = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$`)

// zoneAreas are the first parts of the IANA time zone names of places: tzdata's continents and oceans, and
// Etc, whose zones are fixed offsets (Etc/UTC, Etc/GMT+5).
var zoneAreas = []string{"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
	"Indian", "Pacific", "Etc"}

// placeZone reports whether zone is named as an IANA zone of a place is, or is UTC: "UTC", or an area of
// zoneAreas followed by one or two parts ("Europe/Oslo", "America/Argentina/Buenos_Aires", "Etc/UTC").
// Everything else is refused, even where the machine's zone database has it: tzdata's pseudo-zones
// (Factory, posixrules, localtime: a run and checkpoints for organisations that no time zone can hold),
// the posix/ and right/ copies of a system's zoneinfo (right/ counts leap seconds: its clock is 27 s off),
// and the legacy single names and aliases (CET, EST5EDT, GMT, Japan, US/Eastern), which name no place of
// their own: an organisation uses its Area/Location name. The database's scheduler.zone_known applies the
// same rule (TestZoneKnownAgreesWithParseSlot).
func placeZone(zone string) bool {
	if zone == "UTC" {
		return true
	}
	area, rest, ok := strings.Cut(zone, "/")
	return ok && rest != "" && slices.Contains(zoneAreas, area)
}

// ParseSlot reads "<zone>@<HH>" as the HTTP contract carries it: a time zone and a two-digit hour 00 to
// 23. The zone is "UTC" or the IANA name of a place, "<Area>/<Location>" with an area of zoneAreas
// (placeZone), and the engine must know it (the binary embeds the IANA database). Errors are *Error with
// Code Invalid.
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
	// "Local" is the machine's zone, and "Factory" or "posixrules" no place at all.
	if !placeZone(s.Zone) {
		return nil, Errorf(Invalid, `slot: %q is not the time zone of a place: use "<Area>/<Location>" (for example "Europe/Oslo") or "UTC"`, excerpt(s.Zone))
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
