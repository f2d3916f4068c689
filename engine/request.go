package engine

import (
	"fmt"
	"time"
)

// Triggers name who started a run; they are recorded with the run and shown in its report.
const (
	// TriggerHTTP: an authenticated HTTP request (pg_cron through pg_net, curl, a catch-up job).
	TriggerHTTP = "http"
	// TriggerDirect: a raw platform invocation (a Lambda console "Test" event) that the platform's IAM
	// already authorised.
	TriggerDirect = "direct"
)

// DateLayout is the wire format of an evaluation date.
const DateLayout = "2006-01-02"

// How far from today an evaluation date may be. The past window allows a catch-up after a long outage;
// one day ahead absorbs a caller whose clock or time zone is a little ahead.
const (
	MaxPastDays   = 90
	MaxFutureDays = 1
)

// Request is one invocation of the scheduler, already decoded and authenticated by an adapter.
type Request struct {
	// EvaluationDate is "YYYY-MM-DD"; empty means today in the slot's time zone (the engine's for the whole
	// project). It must lie in the window around that today.
	EvaluationDate string
	// Scenarios to evaluate; empty means every enabled scenario.
	Scenarios []string
	// DryRun evaluates and reports without writing notifications or checkpoints.
	DryRun bool
	// Trigger says who called (TriggerHTTP, TriggerDirect, or a job name); empty means TriggerHTTP.
	Trigger string
	// DeliverOnly skips evaluation and only delivers the outbox (pushes pending from earlier calls, or held
	// for quiet hours). Needs a Sender; Scenarios and DryRun must be unset.
	DeliverOnly bool
	// Shard limits the run to one key range of mentors (see Shard); the zero Shard is every mentor.
	// Each shard's run delivers the outbox after its evaluation, as a whole run does (deliveries are
	// claimed row by row, so concurrent shards never send one notification twice).
	Shard Shard
	// Slot limits the run to the organisations of one time zone and send hour (see Slot), dated in that
	// zone; the zero Slot is every organisation. It composes with Shard.
	Slot Slot
}

// zone judges the request's slot (see Slot.location; a slot asks for an evaluation, not delivery alone) and
// returns the time zone its dates are in: the slot's, or def for the whole project.
func (r Request) zone(def *time.Location) (*time.Location, error) {
	zone, err := r.Slot.location(def)
	if err != nil {
		return nil, err
	}
	if r.DeliverOnly && !r.Slot.Whole() {
		return nil, Errorf(Invalid, "slot is only valid for an evaluation, not with deliver_only")
	}
	return zone, nil
}

// evaluationDate resolves the request's date against today in zone (the request's, see zone) and checks the
// allowed window.
func (r Request) evaluationDate(now time.Time, zone *time.Location) (time.Time, error) {
	y, m, d := now.In(zone).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if r.EvaluationDate == "" {
		return today, nil
	}
	date, err := time.Parse(DateLayout, r.EvaluationDate)
	if err != nil {
		return time.Time{}, Errorf(Invalid, "evaluation_date must be a date as YYYY-MM-DD, got %q", r.EvaluationDate)
	}
	if date.Before(today.AddDate(0, 0, -MaxPastDays)) || date.After(today.AddDate(0, 0, MaxFutureDays)) {
		return time.Time{}, Errorf(Invalid, "evaluation_date %s is outside the allowed window %s to %s",
			r.EvaluationDate, today.AddDate(0, 0, -MaxPastDays).Format(DateLayout),
			today.AddDate(0, 0, MaxFutureDays).Format(DateLayout))
	}
	return date, nil
}

// validateScenarios checks requested names: known, and each at most once.
func validateScenarios(names []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if !KnownScenario(n) {
			return Errorf(Invalid, "unknown scenario %q (known: %v)", n, Scenarios)
		}
		if seen[n] {
			return Errorf(Invalid, "scenario %q is listed twice", n)
		}
		seen[n] = true
	}
	return nil
}

func (r Request) trigger() string {
	if r.Trigger == "" {
		return TriggerHTTP
	}
	return r.Trigger
}

func (r Request) String() string {
	return fmt.Sprintf("date=%q scenarios=%v dry_run=%t deliver_only=%t shard=%q slot=%q trigger=%s", r.EvaluationDate,
		r.Scenarios, r.DryRun, r.DeliverOnly, r.Shard, r.Slot, r.trigger())
}

// validateShard checks the request's shard: in range, and only for an evaluation (delivery alone has no
// mentors to split).
func validateShard(r Request) error {
	if !r.Shard.valid() {
		return Errorf(Invalid, "shard %d/%d is out of range: 1 <= k <= N <= %d", r.Shard.No, r.Shard.Of, MaxShards)
	}
	if r.DeliverOnly && !r.Shard.Whole() {
		return Errorf(Invalid, "shard is only valid for an evaluation, not with deliver_only")
	}
	return nil
}
