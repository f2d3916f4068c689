package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/peermentor/scenario-scheduler/engine"
)

var _ engine.DeliveryStore = (*Store)(nil)

// PushTemplates implements engine.DeliveryStore.
func (s *Store) PushTemplates(ctx context.Context) ([]engine.TemplateOverride, error) {
	rows, err := s.pool.Query(ctx, qPushTemplates)
	if err != nil {
		return nil, classify(err)
	}
	ts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (engine.TemplateOverride, error) {
		var t engine.TemplateOverride
		err := row.Scan(&t.OrganisationID, &t.Scenario, &t.Locale, &t.Title, &t.Body)
		return t, err
	})
	return ts, classify(err)
}

// ClaimDeliveries implements engine.DeliveryStore.
func (s *Store) ClaimDeliveries(ctx context.Context, c engine.DeliveryClaim) ([]engine.Delivery, error) {
	rows, err := s.pool.Query(ctx, qClaimDeliveries, c.RunID, c.Now, date(c.Today), int32(c.Limit),
		int32(c.Lease.Milliseconds()), int32(c.MaxAttempts))
	if err != nil {
		return nil, classify(err)
	}
	ds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (engine.Delivery, error) {
		var d engine.Delivery
		var attempts int32
		var until pgtype.Timestamptz
		err := row.Scan(&d.NotificationID, &d.Disposition, &d.Reason, &d.UserID, &d.OrganisationID,
			&d.Scenario, &d.Locale, &d.FullName, &d.Data, &d.Tokens, &attempts, &until)
		d.Attempts = int(attempts)
		if until.Valid {
			d.PushUntil = until.Time
		}
		return d, err
	})
	return ds, classify(err)
}

// outcome is one result as scheduler.record_deliveries reads it.
type outcome struct {
	ID         int64      `json:"id"`
	Outcome    string     `json:"outcome"`
	ErrorClass string     `json:"error_class,omitempty"`
	RetryAt    *time.Time `json:"retry_at,omitempty"`
}

// RecordDeliveries implements engine.DeliveryStore.
func (s *Store) RecordDeliveries(ctx context.Context, runID string, outcomes []engine.DeliveryOutcome, disable []string) (int, error) {
	if len(outcomes) == 0 && len(disable) == 0 {
		return 0, nil
	}
	rs := make([]outcome, len(outcomes))
	for i, o := range outcomes {
		rs[i] = outcome{ID: o.NotificationID, Outcome: string(o.Outcome), ErrorClass: o.ErrorClass}
		if !o.RetryAt.IsZero() {
			at := o.RetryAt
			rs[i].RetryAt = &at
		}
	}
	body, err := json.Marshal(rs)
	if err != nil {
		return 0, classify(err)
	}
	if disable == nil {
		disable = []string{}
	}
	var n int32
	err = s.pool.QueryRow(ctx, qRecordDeliveries, runID, body, disable).Scan(&n)
	return int(n), classify(err)
}

// DeliveryBacklog implements engine.DeliveryStore.
func (s *Store) DeliveryBacklog(ctx context.Context, now time.Time) (deliverable, waiting int64, err error) {
	err = s.pool.QueryRow(ctx, qDeliveryBacklog, pgtype.Timestamptz{Time: now, Valid: true}).Scan(&deliverable, &waiting)
	return deliverable, waiting, classify(err)
}
