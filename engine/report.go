package engine

import "time"

// Status is the outcome of a run or of one scenario within it.
type Status string

// Statuses, from the best news to the worst.
const (
	// Completed: everything asked for was evaluated by this run.
	Completed Status = "completed"
	// AlreadyCompleted: an earlier run had finished it; nothing was left to do.
	AlreadyCompleted Status = "already_completed"
	// Busy: another live run holds the work; this run left it alone.
	Busy Status = "busy"
	// Partial: the budget ran out first; the checkpoint lets the next call resume.
	Partial Status = "partial"
	// Failed: an error stopped the work; the checkpoint lets the next call resume.
	Failed Status = "failed"
	// Off (delivery only): push delivery is switched off; notifications stay pending in the outbox.
	Off Status = "off"
)

// Report is what a run did. It is returned to the caller and stored with the run.
type Report struct {
	RunID          string `json:"run_id"`
	EvaluationDate string `json:"evaluation_date"`
	Status         Status `json:"status"`
	Trigger        string `json:"trigger"`
	DryRun         bool   `json:"dry_run"`
	// Shard is the key range of mentors the run covered ("k/N"); absent for every mentor.
	Shard string `json:"shard,omitempty"`
	// Slot is the time zone and send hour whose organisations the run covered ("Europe/Oslo@08"); absent for
	// every organisation. EvaluationDate is then the slot's local date.
	Slot       string           `json:"slot,omitempty"`
	StartedAt  time.Time        `json:"started_at"`
	DurationMS int64            `json:"duration_ms"`
	BudgetMS   int64            `json:"budget_ms"`
	Scenarios  []ScenarioReport `json:"scenarios"`
	Delivery   *DeliveryReport  `json:"delivery,omitempty"`
	Warnings   []string         `json:"warnings,omitempty"`
	// ErrorCode and Problem say why a run failed before evaluating anything (a source contract that does
	// not hold); the watchdog reads them from the stored report.
	ErrorCode Code   `json:"error_code,omitempty"`
	Problem   string `json:"problem,omitempty"`
	// Configuration names each configuration variable of the function and where its value came from
	// (Options.Configuration: names and sources, never a value), in dry runs only: the deployment checklist
	// reads it from its verification call.
	Configuration map[string]string `json:"configuration,omitempty"`
}

// ScenarioReport is one scenario's part of a run. Counts are this run's own, except where noted.
type ScenarioReport struct {
	Scenario string `json:"scenario"`
	Status   Status `json:"status"`
	// Evaluated mentors in this run's batches.
	Evaluated int `json:"evaluated"`
	// Notified: notifications created (in a dry run: that would have been created).
	Notified int `json:"notified"`
	// SuppressedCooldown: candidates inside the cooldown of an earlier notification.
	SuppressedCooldown int `json:"suppressed_cooldown"`
	// Duplicates: candidates whose notification already exists.
	Duplicates int `json:"duplicates"`
	// Conflicts: candidates another writer claimed between our check and our insert (skipped, not errors).
	Conflicts int `json:"conflicts"`
	// HeldOut: candidates of the holdout (the control group, scenario_config.holdout_percent) recorded in
	// scheduler.held_out_nudges as would-have-been-nudged: no notification, no push (docs/operations.md).
	HeldOut int `json:"held_out"`
	Batches int `json:"batches"`
	// Remaining active mentors not yet evaluated for this date (0 when done; 0 with a Message saying so when
	// the count after a cut could not be made in time).
	Remaining int64 `json:"remaining"`
	// TotalEvaluated and TotalNotified count every run for this date so far.
	TotalEvaluated int   `json:"total_evaluated"`
	TotalNotified  int   `json:"total_notified"`
	DurationMS     int64 `json:"duration_ms"`
	// Mode is how this date's evaluation of the scenario runs: "full" (every active mentor) or
	// "incremental" (only the mentors due, changed or without state; Evaluated counts those), and
	// ModeReason why. StateRepairs counts, in a reconciliation (a full evaluation that checks the state),
	// the mentors whose stored due date was later than the one computed: the state was wrong.
	Mode         string `json:"mode,omitempty"`
	ModeReason   string `json:"mode_reason,omitempty"`
	StateRepairs int    `json:"state_repairs,omitempty"`
	// Message explains a busy, partial or failed status.
	Message string `json:"message,omitempty"`
}

// Totals sums the per-scenario counts.
func (r Report) Totals() ScenarioReport {
	var t ScenarioReport
	for _, s := range r.Scenarios {
		t.Evaluated += s.Evaluated
		t.Notified += s.Notified
		t.SuppressedCooldown += s.SuppressedCooldown
		t.Duplicates += s.Duplicates
		t.Conflicts += s.Conflicts
		t.HeldOut += s.HeldOut
		t.Batches += s.Batches
		t.Remaining += s.Remaining
	}
	return t
}

// overallStatus folds scenario statuses into the run's (see worst).
func overallStatus(scenarios []ScenarioReport) Status {
	statuses := make([]Status, len(scenarios))
	for i, s := range scenarios {
		statuses[i] = s.Status
	}
	return worst(statuses...)
}

// statusRank orders statuses from the best news to the worst. A status it does not name (off) ranks with
// already_completed: it never makes the news worse.
var statusRank = map[Status]int{AlreadyCompleted: 0, Completed: 1, Busy: 2, Partial: 3, Failed: 4}

// worst is the one ranking of statuses: the worst news wins, failed > partial > busy > completed, and
// already_completed only when every status was already_completed. No status at all is completed (a run
// with nothing to evaluate did all it was asked).
func worst(statuses ...Status) Status {
	if len(statuses) == 0 {
		return Completed
	}
	w, done := AlreadyCompleted, true
	for _, s := range statuses {
		if statusRank[s] > statusRank[w] {
			w = s
		}
		done = done && s == AlreadyCompleted
	}
	if done {
		return AlreadyCompleted
	}
	return w
}
