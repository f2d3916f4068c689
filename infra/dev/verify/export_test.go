package verify

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
)

// DryRun runs check 11 alone against dbURL.
func DryRun(ctx context.Context, dbURL string, wait time.Duration) Result {
	return checkDryRun(ctx, Target{DatabaseURL: dbURL, AnswerWait: wait})
}

// Schedules runs check 9 alone through tx, as of now.
func Schedules(ctx context.Context, tx pgx.Tx, now time.Time) Result {
	return schedulesResult(ctx, tx, Result{ID: "9"}, "", now)
}

// DailyJobCheck runs check 1 alone through tx, as of now.
func DailyJobCheck(ctx context.Context, tx pgx.Tx, now time.Time) Result {
	return dailyJobResult(ctx, tx, Result{ID: "1"}, Target{Now: func() time.Time { return now }})
}

// Health runs check 14 alone against a function.
func Health(ctx context.Context, functionURL string) Result {
	return checkHealth(ctx, Target{FunctionURL: functionURL, Required: DefaultRequired, Client: http.DefaultClient})
}

// Grants runs check 8 alone against dbURL.
func Grants(ctx context.Context, dbURL string) Result {
	return checkGrants(ctx, Target{DatabaseURL: dbURL})
}

// PgNet runs check 2 alone against dbURL.
func PgNet(ctx context.Context, dbURL string, standIns bool) Result {
	return checkPgNet(ctx, Target{DatabaseURL: dbURL, StandIns: standIns})
}

// OperationsJobs runs check 10 alone through tx.
func OperationsJobs(ctx context.Context, tx pgx.Tx) Result {
	return operationsJobsResult(ctx, tx, Result{ID: "10"})
}
