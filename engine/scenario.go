package engine

import "slices"

// The scenarios the engine knows. Their rules live in the database (set-based SQL per batch); their
// parameters, cooldown and priority in its scenario configuration.
const (
	// Inactivity fires when a mentor has registered no activity for inactivity_days (default 14), then
	// repeats at most max_repeats times (default 2) repeat_every_days apart (default 14) in the same inactive
	// spell, until a new activity re-arms it; deduplicated per (mentor, evaluation date) and by a cooldown
	// (default 7 days).
	Inactivity = "inactivity"
	// Milestone fires when a mentor's activity count reaches a level (default 10, 25, 50, 100, 250),
	// once per level, ever.
	Milestone = "milestone"
	// CertificationExpiry fires when a certification expires within a lead-time rung (default 30, 7, 1
	// days), once per (mentor, certification, rung); after downtime only the latest rung is sent, and never a
	// wider rung after a narrower one.
	CertificationExpiry = "certification_expiry"
)

// Scenarios lists every known scenario. It is the one registry the SQL is held against (see
// engine/registry_test.go and "Adding a scenario" in docs/architecture.md): the check constraint of
// scheduler.scenario_config, its default rows, scheduler.evaluate_batch's guard and dispatch, the built-in
// push templates and DataKeys must all name exactly these.
var Scenarios = []string{CertificationExpiry, Milestone, Inactivity}

// DataKeys are, per scenario, the keys of public.notifications.data that the scenario's SQL writes and the
// push templates read (through Facts).
var DataKeys = map[string][]string{
	Inactivity:          {"days_inactive", "inactivity_days", "last_activity_date"},
	Milestone:           {"level", "activity_count"},
	CertificationExpiry: {"certification_name", "expires_at", "days_left", "rung"},
}

// KnownScenario reports whether name is a scenario the engine can evaluate.
func KnownScenario(name string) bool { return slices.Contains(Scenarios, name) }
