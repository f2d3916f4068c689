package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/adapters/postgres/pgtest"
	"github.com/peermentor/scenario-scheduler/engine"
)

// TestClaimSignature: the replay guard accepts a signature once, also under concurrent claims; it checks
// its input (the v2 form, an expiry inside the window) and prunes what has expired.
func TestClaimSignature(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.NewFromPool(pool)
	now := time.Now()
	sig := func(c string) string { return "v2=" + strings.Repeat(c, 64) }

	// Ten concurrent claims of one signature: exactly one wins.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := store.ClaimSignature(ctx, sig("a"), now.Add(300*time.Second))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d of 10 concurrent claims of one signature won, want 1", wins)
	}
	if ok, err := store.ClaimSignature(ctx, sig("b"), now.Add(time.Second)); !ok || err != nil {
		t.Fatalf("another signature: %t %v", ok, err)
	}

	for name, c := range map[string]struct {
		sig     string
		expires time.Time
	}{
		"v1":                  {"v1=" + strings.Repeat("c", 64), now.Add(time.Minute)},
		"upper-case hex":      {"v2=" + strings.Repeat("C", 64), now.Add(time.Minute)},
		"short":               {"v2=cc", now.Add(time.Minute)},
		"expired":             {sig("c"), now.Add(-time.Second)},
		"expiry beyond 600 s": {sig("c"), now.Add(700 * time.Second)},
		"a year ahead":        {sig("c"), now.AddDate(1, 0, 0)},
	} {
		if ok, err := store.ClaimSignature(ctx, c.sig, c.expires); ok || engine.ErrorCode(err) != engine.Invalid {
			t.Errorf("%s: %t %v, want an Invalid error", name, ok, err)
		}
	}

	// Expired rows go with the next claim; unexpired ones stay.
	digest := func(s string) string { d := sha256.Sum256([]byte(s)); return hex.EncodeToString(d[:]) }
	if _, err := pool.Exec(ctx, `update scheduler.used_signatures set expires_at = now() - interval '1 second'
		where signature_sha256 = $1`, digest(sig("b"))); err != nil {
		t.Fatal(err)
	}
	if ok, err := store.ClaimSignature(ctx, sig("d"), now.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("a new signature: %t %v", ok, err)
	}
	rows, err := pool.Query(ctx, `select signature_sha256 from scheduler.used_signatures`)
	if err != nil {
		t.Fatal(err)
	}
	left, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(left)
	want := []string{digest(sig("a")), digest(sig("d"))}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Fatalf("rows left %v, want the digests of the unexpired v2=a… and v2=d… %v", left, want)
	}
}
