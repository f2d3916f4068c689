package postgres

import (
	"context"
	"time"
)

// ClaimSignature records the signature of a signed call until expires and reports whether it was new:
// false means it was already used, a replay. A malformed signature or an expiry outside the database's
// window is an *engine.Error with Code Invalid. It implements adapters/httpfn's ReplayGuard.
func (s *Store) ClaimSignature(ctx context.Context, signature string, expires time.Time) (bool, error) {
	var fresh bool
	err := s.pool.QueryRow(ctx, qClaimSignature, signature, expires).Scan(&fresh)
	return fresh, classify(err)
}
