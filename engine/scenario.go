package engine

import "slices"

// The scenarios the engine knows. Their rules live in the database (set-based SQL per batch); their
// parameters, cooldown and priority in its scenario configuration.
const (
	// Inactivity fires when a mentor has registered no activity for inactivity_days (default 14);
	// deduplicated per (mentor, evaluation date) and by a cooldown (default 7 days).
	Inactivity = "inactivity"
	// Milestone fires when a mentor's activity count reaches a level (default 10, 25, 50, 100, 250),
	// once per level, ever.
	Milestone = "milestone"
	// CertificationExpiry fires when a certification expires within a lead-time rung (default 30, 7, 1
	// days), once per (mentor, certification, rung); after downtime only the latest rung is sent.
	CertificationExpiry = "certification_expiry"
)

// Scenarios lists every known scenario.
var Scenarios = []string{CertificationExpiry, Milestone, Inactivity}

// KnownScenario reports whether name is a scenario the engine can evaluate.
func KnownScenario(name string) bool { return slices.Contains(Scenarios, name) }
