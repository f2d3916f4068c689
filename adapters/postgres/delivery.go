package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/peermentor/scenario-scheduler/engine"
)

var _ engine.DeliveryStore = (*Store)(nil)

// onConn runs f on a connection of the pool. A connection that broke under it (its backend was terminated,
// the server restarted, a pooler dropped it) seldom broke alone: the pool's idle connections went with it,
// and a retry would only take the next dead one. The pool is therefore reset, so that the engine's next try,
// and every statement after it, runs on a fresh connection. Connections in use elsewhere are not cut: they
// are closed when they are given back. A connection closed because ctx ended (a statement cancelled past its
// grace) says nothing about the others, and resets nothing.
func (s *Store) onConn(ctx context.Context, f func(c *pgxpool.Conn) error) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return classify(err)
	}
	err = f(c)
	broken := c.Conn().IsClosed() && ctx.Err() == nil
	c.Release()
	if broken {
		s.pool.Reset()
	}
	return classify(err)
}

// PushTemplates implements engine.DeliveryStore.
func (s *Store) PushTemplates(ctx context.Context) ([]engine.TemplateOverride, error) {
	var ts []engine.TemplateOverride
	err := s.onConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, qPushTemplates)
		if err != nil {
			return err
		}
		ts, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (engine.TemplateOverride, error) {
			var t engine.TemplateOverride
			err := row.Scan(&t.OrganisationID, &t.Scenario, &t.Locale, &t.Title, &t.Body)
			return t, err
		})
		return err
	})
	return ts, err
}

// ClaimDeliveries implements engine.DeliveryStore.
func (s *Store) ClaimDeliveries(ctx context.Context, c engine.DeliveryClaim) ([]engine.Delivery, error) {
	var ds []engine.Delivery
	err := s.onConn(ctx, func(conn *pgxpool.Conn) error {
		rows, err := conn.Query(ctx, qClaimDeliveries, c.RunID, c.Now, date(c.Today), int32(c.Limit),
			int32(c.Lease.Milliseconds()), int32(c.MaxAttempts))
		if err != nil {
			return err
		}
		ds, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (engine.Delivery, error) {
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
		return err
	})
	return ds, err
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
	err = s.onConn(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, qRecordDeliveries, runID, body, disable).Scan(&n)
	})
	return int(n), err
}

// DeliveryBacklog implements engine.DeliveryStore.
func (s *Store) DeliveryBacklog(ctx context.Context, now time.Time) (deliverable, waiting int64, err error) {
	err = s.onConn(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, qDeliveryBacklog, pgtype.Timestamptz{Time: now, Valid: true}).Scan(&deliverable, &waiting)
	})
	return deliverable, waiting, err
}
