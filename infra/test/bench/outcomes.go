package bench

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Outcomes times the effectiveness report's computation over the first run's nudges (every milestone
// reached and every inactive mentor at once: about 1.3 nudges per active mentor, more than twelve weeks of
// daily runs hold), as of two weeks later so that every window has closed: scheduler.nudge_outcomes alone,
// and scheduler.effectiveness (outcomes, weekly groups, intervals). Both are one statement.
type Outcomes struct {
	Nudges        int64 `json:"nudges"`
	Outcomes      Dist  `json:"nudge_outcomes"`
	Effectiveness Dist  `json:"effectiveness"`
}

func runOutcomes(ctx context.Context, pool *pgxpool.Pool, nudged, asOf time.Time, reps int) (*Outcomes, error) {
	o := &Outcomes{}
	var outT, effT []time.Duration
	for range reps {
		t0 := time.Now()
		if err := pool.QueryRow(ctx, `select count(*) from scheduler.nudge_outcomes($1, $1, $2) where outcome is not null`,
			nudged, asOf).Scan(&o.Nudges); err != nil {
			return nil, err
		}
		outT = append(outT, time.Since(t0))
		t0 = time.Now()
		if _, err := pool.Exec(ctx, `select * from scheduler.effectiveness($1, $2, $3)`, nudged.AddDate(0, 0, -83), nudged, asOf); err != nil {
			return nil, err
		}
		effT = append(effT, time.Since(t0))
	}
	o.Outcomes, o.Effectiveness = distOf(outT), distOf(effT)
	return o, nil
}
