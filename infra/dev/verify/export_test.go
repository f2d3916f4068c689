package verify

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
)

// DryRun runs check 6 alone against dbURL.
func DryRun(ctx context.Context, dbURL string, wait time.Duration) Result {
	return checkDryRun(ctx, Target{DatabaseURL: dbURL, AnswerWait: wait})
}

// Schedules runs check 4 alone through tx, as of now.
func Schedules(ctx context.Context, tx pgx.Tx, now time.Time) Result {
	return schedulesResult(ctx, tx, Result{ID: "4"}, "", now)
}

// Health runs check 9 alone against a function.
func Health(ctx context.Context, functionURL string) Result {
	return checkHealth(ctx, Target{FunctionURL: functionURL, Required: DefaultRequired, Client: http.DefaultClient})
}

// Grants runs check 3 alone against dbURL.
func Grants(ctx context.Context, dbURL string) Result {
	return checkGrants(ctx, Target{DatabaseURL: dbURL})
}

// PgNet runs check 2 alone against dbURL.
func PgNet(ctx context.Context, dbURL string, standIns bool) Result {
	return checkPgNet(ctx, Target{DatabaseURL: dbURL, StandIns: standIns})
}
