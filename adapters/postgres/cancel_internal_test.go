package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// cancelRequestCode opens a cancel request packet (the protocol's CancelRequest message).
const cancelRequestCode = 80877102

// lateCancels delivers cancel requests late, as a busy server does: the client's write returns at once and
// the server reads the request after delay. It counts the requests it delayed.
type lateCancels struct {
	delay time.Duration
	sent  atomic.Int32
	wg    sync.WaitGroup
}

// lateConn is one dialled connection whose cancel requests are delayed.
type lateConn struct {
	net.Conn
	l    *lateCancels
	late atomic.Bool
}

func (c *lateConn) Write(b []byte) (int, error) {
	if len(b) < 8 || binary.BigEndian.Uint32(b[4:8]) != cancelRequestCode {
		return c.Conn.Write(b)
	}
	c.late.Store(true)
	c.l.sent.Add(1)
	buf := bytes.Clone(b)
	c.l.wg.Go(func() {
		time.Sleep(c.l.delay)
		_, _ = c.Conn.Write(buf)
		_, _ = c.Conn.Read(make([]byte, 1)) // the server closes the connection once it has signalled
		_ = c.Conn.Close()
	})
	return len(b), nil
}

func (c *lateConn) Read(b []byte) (int, error) {
	if c.late.Load() {
		return 0, io.EOF
	}
	return c.Conn.Read(b)
}

func (c *lateConn) Close() error {
	if c.late.Load() {
		return nil
	}
	return c.Conn.Close()
}

func (c *lateConn) SetDeadline(t time.Time) error {
	if c.late.Load() {
		return nil
	}
	return c.Conn.SetDeadline(t)
}

// A cancel request that reaches the server after its statement has ended by itself must not cancel the next
// statement on the pool: the connection it was sent for is not reused. Before, the next statement (a run's
// final report, another run's batch) failed with SQLSTATE 57014 under a live context, and the run answered
// failed (HTTP 500) for work that was checkpointed.
func TestLateCancelRequestDoesNotReachTheNextStatement(t *testing.T) {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("DATABASE_URL is not set")
		}
		t.Skip("DATABASE_URL is not set")
	}
	pc, err := PoolConfig(Config{URL: url, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	l := &lateCancels{delay: 700 * time.Millisecond}
	dial := pc.ConnConfig.DialFunc
	pc.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &lateConn{Conn: c, l: l}, nil
	}
	ctx := context.Background()
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	defer l.wg.Wait()

	// The first statement's context ends at 50 ms; the statement ends by itself at 250 ms, before its
	// cancel request arrives (at 750 ms). Its own outcome does not matter here.
	cut, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, _ = pool.Exec(cut, `select pg_sleep(0.25)`)
	cancel()
	if l.sent.Load() == 0 {
		t.Fatal("no cancel request was sent for the cut statement: the test proves nothing")
	}
	// The next statement, on the pool's one connection slot, runs while the late request arrives.
	_, err = pool.Exec(ctx, `select pg_sleep(1)`)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "57014" {
		t.Fatalf("the next statement was cancelled by the cut statement's late cancel request: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}
