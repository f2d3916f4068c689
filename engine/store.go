package engine

import (
	"context"
	"errors"
	"time"
)

// Store is the engine's port to the database. The Postgres adapter implements it; each method is one
// statement (one transaction), so a batch's notifications and its checkpoint commit together.
type Store interface {
	// EnabledScenarios lists the scenarios enabled by default or for some organisation, most important first.
	EnabledScenarios(ctx context.Context) ([]string, error)
	// CheckSource checks the source contract once per run, before any work: an *Error with Code
	// SourceContract names what does not hold (a missing view, a wrong column type, no active mentor).
	CheckSource(ctx context.Context) error
	// StartRun records a run before any work.
	StartRun(ctx context.Context, run RunStart) error
	// FinishRun stores the run's final report.
	FinishRun(ctx context.Context, report Report) error
	// Claim takes the lease on one part's checkpoint of one scenario for one date, for at most lease
	// (the part's shard is Normal: 1 of 1 for the whole range; its zero Slot is every organisation).
	Claim(ctx context.Context, runID string, date time.Time, scenario string, part Part, lease time.Duration) (Claim, error)
	// Release gives the lease back.
	Release(ctx context.Context, runID string, date time.Time, scenario string, part Part) error
	// EvaluateBatch evaluates up to b.Limit active mentors of b.Part after b.After, writes their
	// notifications and advances the shard's checkpoint (unless b.DryRun). It returns ErrLeaseLost when the
	// run no longer holds the checkpoint.
	EvaluateBatch(ctx context.Context, b Batch) (BatchResult, error)
	// Progress reads one part's checkpoint of one scenario for one date without taking its lease (zero
	// Progress when nothing was done yet).
	Progress(ctx context.Context, date time.Time, scenario string, part Part) (Progress, error)
	// Remaining counts a part's active mentors after a cursor ("" means from the shard's start).
	Remaining(ctx context.Context, part Part, after string) (int64, error)
	// RecordScenarioStats keeps the last full evaluation's size and duration with the scenario's configuration.
	RecordScenarioStats(ctx context.Context, scenario string, evaluated int, duration time.Duration) error
	// Mode says how one part's checkpoint of one scenario for one date is evaluated (decided by its first
	// batch; for a dry run, decided at the call) and what its reconciliation repaired.
	Mode(ctx context.Context, date time.Time, scenario string, part Part) (EvaluationMode, error)
}

// The modes of an evaluation (EvaluationMode.Mode).
const (
	// ModeFull evaluates every active mentor: without the change feed, and as the state's reconciliation.
	ModeFull = "full"
	// ModeIncremental evaluates only the mentors the state says are due, or changed, or have no state.
	ModeIncremental = "incremental"
)

// EvaluationMode is how a checkpoint is evaluated: Mode (ModeFull or ModeIncremental), Reason (no_feed,
// never_reconciled, configuration_changed, requested, reconcile_due; state_valid when incremental), and the
// Repairs a reconciliation counted: mentors whose stored due date was later than the one it computed.
type EvaluationMode struct {
	Mode, Reason string
	Repairs      int
}

// ErrLeaseLost: another run took over the checkpoint (this run's lease expired, or its cursor is stale).
var ErrLeaseLost = &Error{Code: Conflict, Message: "another run took over this scenario"}

// IsLeaseLost reports whether err means the run lost its checkpoint lease.
func IsLeaseLost(err error) bool { return errors.Is(err, ErrLeaseLost) }

// RunStart is what is recorded when a run starts.
type RunStart struct {
	RunID   string
	Date    time.Time
	Trigger string
	DryRun  bool
	Request Request
}

// ClaimOutcome says whether a run may work on a checkpoint.
type ClaimOutcome string

// Claim outcomes.
const (
	Claimed ClaimOutcome = "claimed"
	Held    ClaimOutcome = "busy"
	Done    ClaimOutcome = "done"
	// OtherLayout: this date's scenario is being evaluated in another number of shards (Claim.Shards);
	// nothing was claimed. A date's scenario keeps the shard count its first claim chose until it is done.
	OtherLayout ClaimOutcome = "layout"
)

// Claim is the result of claiming a checkpoint.
type Claim struct {
	Outcome ClaimOutcome
	// Cursor is the last mentor evaluated ("" before the first batch).
	Cursor string
	// Evaluated and Notified so far for this date and scenario, by every run.
	Evaluated, Notified int
	// Shards is the shard count of the checkpoint's layout (with OtherLayout: the count in use).
	Shards int
}

// Progress is what a checkpoint holds: the last mentor evaluated ("" before the first batch), the counts
// so far for the date and scenario by every run, and whether it is done.
type Progress struct {
	Cursor              string
	Evaluated, Notified int
	Done                bool
}

// Batch is one keyset batch of one scenario.
type Batch struct {
	RunID    string
	Scenario string
	Date     time.Time
	// Part is the slot's organisations and the key range walked (Shard Normal: 1 of 1 for the whole range).
	Part   Part
	After  string
	Limit  int
	DryRun bool
}

// BatchResult is what one batch did.
type BatchResult struct {
	Evaluated, Candidates, Notified, SuppressedCooldown, Duplicates, Conflicts int
	// NextCursor is the last mentor evaluated; Done says no active mentor follows it.
	NextCursor string
	Done       bool
	// HeldOut counts the candidates of the holdout, recorded instead of notified (in a dry run: that would be).
	HeldOut int
}
