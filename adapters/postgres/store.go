package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/peermentor/scenario-scheduler/engine"
)

// Config says how to reach the database.
type Config struct {
	// URL is a libpq connection string or postgres:// URL.
	URL string
	// NoPreparedStatements must be set behind a transaction pooler (Supavisor on port 6543, PgBouncer in
	// transaction mode): statements are then sent without named prepared statements.
	NoPreparedStatements bool
	// MaxConns bounds the pool (default 4: a run uses one connection at a time).
	MaxConns int32
	// Lazy skips the check that the database answers: the pool connects on first use. Entry points open
	// lazily so that a cold start succeeds while the database is down (requests then answer 503).
	Lazy bool
}

// Store is the engine's Store on a pgx pool.
type Store struct {
	pool *pgxpool.Pool
}

var _ engine.Store = (*Store)(nil)

// Open creates the pool and checks that the database answers.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	pc, err := PoolConfig(cfg)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, classify(err)
	}
	s := &Store{pool: pool}
	if cfg.Lazy {
		return s, nil
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, classify(err)
	}
	return s, nil
}

// PoolConfig is the configuration of the pool Open creates for cfg (without Lazy's check), for a caller that
// adjusts it before creating the pool and wrapping it with NewFromPool: a test's dialer, for instance.
func PoolConfig(cfg Config) (*pgxpool.Config, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, &engine.Error{Code: engine.Invalid, Message: "DATABASE_URL is not a valid connection string", Err: err}
	}
	if cfg.NoPreparedStatements {
		pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	pc.MaxConns = 4
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pc.ConnConfig.RuntimeParams["application_name"] = "scenario-scheduler"
	// A statement whose context ends (the run's budget) is cancelled on the server, not only abandoned by
	// the client: pgx's default closes the socket, and the server would go on running a batch to its end,
	// commit it unseen by the report and hold the checkpoint's row lock meanwhile.
	pc.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		h := &cancelWatcher{inner: pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelGrace}}
		c.CustomData()[cancelWatcherKey] = h
		return h
	}
	// A cancel request reaches the server on a connection of its own, and nothing orders it with the
	// statements that follow on the cancelled one: on a loaded machine it can arrive after the statement
	// it was meant for has ended (the statement finished just as its context did) and interrupt the next
	// statement on that connection, of this run or of another, with SQLSTATE 57014 though its context is
	// alive. pgx waits 100 ms after sending it, which a busy server outlasts. So a connection that was ever
	// sent a cancel request is closed when it is released, never reused: a stray cancel then meets a
	// backend that is gone. It costs one new connection per cut batch.
	pc.AfterRelease = func(c *pgx.Conn) bool {
		h, ok := c.PgConn().CustomData()[cancelWatcherKey].(*cancelWatcher)
		return !ok || !h.sent.Load()
	}
	return pc, nil
}

// cancelGrace is how long a cancelled statement may take to stop on the server before the client closes
// the connection.
const cancelGrace = 2 * time.Second

// cancelWatcherKey is where a connection's cancelWatcher is kept in its CustomData.
const cancelWatcherKey = "scheduler.cancelWatcher"

// cancelWatcher cancels a statement whose context ends with a cancel request (pgx's handler) and
// remembers that it did, so that the pool does not reuse the connection.
type cancelWatcher struct {
	inner pgconn.CancelRequestContextWatcherHandler
	sent  atomic.Bool
}

// HandleCancel implements ctxwatch.Handler.
func (h *cancelWatcher) HandleCancel(ctx context.Context) {
	h.sent.Store(true)
	h.inner.HandleCancel(ctx)
}

// HandleUnwatchAfterCancel implements ctxwatch.Handler.
func (h *cancelWatcher) HandleUnwatchAfterCancel() { h.inner.HandleUnwatchAfterCancel() }

// NewFromPool wraps an existing pool (tests, tools).
func NewFromPool(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool is the underlying pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return classify(s.pool.Ping(ctx)) }

// EnabledScenarios implements engine.Store.
func (s *Store) EnabledScenarios(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, qEnabledScenarios)
	if err != nil {
		return nil, classify(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return names, classify(err)
}

// CheckSource implements engine.Store.
func (s *Store) CheckSource(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, qCheckSource)
	return classify(err)
}

// StartRun implements engine.Store.
func (s *Store) StartRun(ctx context.Context, r engine.RunStart) error {
	fields := map[string]any{
		"evaluation_date": r.Request.EvaluationDate, "scenarios": r.Request.Scenarios, "dry_run": r.Request.DryRun,
		"deliver_only": r.Request.DeliverOnly,
	}
	if s := r.Request.Shard.String(); s != "" {
		fields["shard"] = s
	}
	if s := r.Request.Slot.String(); s != "" {
		fields["slot"] = s
	}
	req, err := json.Marshal(fields)
	if err != nil {
		return classify(err)
	}
	// JSON goes as text: in exec mode (no prepared statements) a []byte would be sent as bytea.
	_, err = s.pool.Exec(ctx, qStartRun, r.RunID, date(r.Date), r.Trigger, r.DryRun, string(req))
	return classify(err)
}

// FinishRun implements engine.Store.
func (s *Store) FinishRun(ctx context.Context, rep engine.Report) error {
	body, err := json.Marshal(rep)
	if err != nil {
		return classify(err)
	}
	_, err = s.pool.Exec(ctx, qFinishRun, rep.RunID, string(rep.Status), int32(rep.DurationMS), string(body))
	return classify(err)
}

// Claim implements engine.Store.
func (s *Store) Claim(ctx context.Context, runID string, d time.Time, scenario string, part engine.Part, lease time.Duration) (engine.Claim, error) {
	var (
		c       engine.Claim
		outcome string
		cursor  pgtype.UUID
	)
	shard := part.Shard.Normal()
	err := s.pool.QueryRow(ctx, qClaim, runID, date(d), scenario, int32(lease.Milliseconds()), int32(shard.No), int32(shard.Of),
		part.Slot.String()).
		Scan(&outcome, &cursor, &c.Evaluated, &c.Notified, &c.Shards)
	if err != nil {
		return c, classify(err)
	}
	c.Outcome, c.Cursor = engine.ClaimOutcome(outcome), uuidString(cursor)
	return c, nil
}

// Release implements engine.Store.
func (s *Store) Release(ctx context.Context, runID string, d time.Time, scenario string, part engine.Part) error {
	shard := part.Shard.Normal()
	_, err := s.pool.Exec(ctx, qRelease, runID, date(d), scenario, int32(shard.No), int32(shard.Of), part.Slot.String())
	return classify(err)
}

// EvaluateBatch implements engine.Store.
func (s *Store) EvaluateBatch(ctx context.Context, b engine.Batch) (engine.BatchResult, error) {
	var (
		r    engine.BatchResult
		next pgtype.UUID
	)
	shard := b.Part.Shard.Normal()
	err := s.pool.QueryRow(ctx, qEvaluateBatch, b.RunID, b.Scenario, date(b.Date), nullUUID(b.After), int32(b.Limit), b.DryRun,
		int32(shard.No), int32(shard.Of), b.Part.Slot.String()).
		Scan(&r.Evaluated, &r.Candidates, &r.Notified, &r.SuppressedCooldown, &r.Duplicates, &r.Conflicts, &next, &r.Done)
	if err != nil {
		return r, classify(err)
	}
	r.NextCursor = uuidString(next)
	// evaluate_batch's columns stay those the last release's function reads: the candidates it neither
	// notified, skipped (duplicate, cooldown) nor lost to a concurrent writer were held out (the control group).
	r.HeldOut = r.Candidates - r.Duplicates - r.SuppressedCooldown - r.Notified - r.Conflicts
	return r, nil
}

// Progress implements engine.Store.
func (s *Store) Progress(ctx context.Context, d time.Time, scenario string, part engine.Part) (engine.Progress, error) {
	var (
		p      engine.Progress
		cursor pgtype.UUID
	)
	shard := part.Shard.Normal()
	err := s.pool.QueryRow(ctx, qProgress, date(d), scenario, int32(shard.No), int32(shard.Of), part.Slot.String()).Scan(&cursor, &p.Evaluated, &p.Notified, &p.Done)
	if errors.Is(err, pgx.ErrNoRows) {
		return engine.Progress{}, nil
	}
	if err != nil {
		return p, classify(err)
	}
	p.Cursor = uuidString(cursor)
	return p, nil
}

// Remaining implements engine.Store.
func (s *Store) Remaining(ctx context.Context, part engine.Part, after string) (int64, error) {
	var n int64
	shard := part.Shard.Normal()
	err := s.pool.QueryRow(ctx, qRemaining, nullUUID(after), int32(shard.No), int32(shard.Of), part.Slot.String()).Scan(&n)
	return n, classify(err)
}

// RecordScenarioStats implements engine.Store.
func (s *Store) RecordScenarioStats(ctx context.Context, scenario string, evaluated int, d time.Duration) error {
	_, err := s.pool.Exec(ctx, qRecordStats, scenario, int32(evaluated), int32(d.Milliseconds()))
	return classify(err)
}

// Mode implements engine.Store.
func (s *Store) Mode(ctx context.Context, d time.Time, scenario string, part engine.Part) (engine.EvaluationMode, error) {
	var (
		m       engine.EvaluationMode
		repairs int32
	)
	shard := part.Shard.Normal()
	err := s.pool.QueryRow(ctx, qMode, date(d), scenario, int32(shard.No), int32(shard.Of), part.Slot.String()).
		Scan(&m.Mode, &m.Reason, &repairs)
	m.Repairs = int(repairs)
	return m, classify(err)
}

// date passes a calendar date (its year, month and day) as a Postgres date.
func date(t time.Time) pgtype.Date {
	return pgtype.Date{Time: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), Valid: true}
}

func nullUUID(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func uuidString(u pgtype.UUID) string {
	if !u.Valid {
		return ""
	}
	b := u.Bytes
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// classify turns driver errors into the engine's vocabulary. The original error stays wrapped for logs;
// messages shown to callers never contain SQL.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == sqlStateLeaseLost:
			return fmt.Errorf("%w: %s", engine.ErrLeaseLost, pgErr.Message)
		case pgErr.Code == sqlStateSourceContract:
			return &engine.Error{Code: engine.SourceContract, Message: pgErr.Message, Err: err}
		case pgErr.Code == "22023":
			return &engine.Error{Code: engine.Invalid, Message: pgErr.Message, Err: err}
		// 08: connection exceptions; 57P01-03: admin shutdown, crash shutdown, cannot connect now;
		// 53300: too many connections.
		case pgErr.Code[:2] == "08", pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", pgErr.Code == "53300":
			return &engine.Error{Code: engine.Unavailable, Message: "database unavailable", Err: err}
		}
		return &engine.Error{Code: engine.Internal, Message: "database error", Err: err}
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) {
		return &engine.Error{Code: engine.Unavailable, Message: "database unavailable", Err: err}
	}
	return &engine.Error{Code: engine.Internal, Message: "database error", Err: err}
}

// RedactURL hides the password of a postgres:// connection URL, for logs and reports.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// WithDatabase points a postgres:// connection URL at another database on the same server.
func WithDatabase(raw, name string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("DATABASE_URL must be a postgres:// URL")
	}
	u.Path = "/" + name
	return u.String(), nil
}
