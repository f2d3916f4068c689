package pgtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// cancelRequestCode opens a cancel request packet (the protocol's CancelRequest message).
const cancelRequestCode = 80877102

// LateCancels delivers a pool's cancel requests late, as a busy server receives them: the client's write of
// the request returns at once, and the server reads it after Delay. Install it with Dialer on a pool's
// ConnConfig.DialFunc; it counts the requests it delayed (Sent). Wait for the delayed requests before the
// test ends.
type LateCancels struct {
	Delay time.Duration
	sent  atomic.Int32
	wg    sync.WaitGroup
}

// Sent is the number of cancel requests delayed so far.
func (l *LateCancels) Sent() int32 { return l.sent.Load() }

// Wait waits until every delayed cancel request has been delivered.
func (l *LateCancels) Wait() { l.wg.Wait() }

// Dialer wraps dial: each connection it opens delays the cancel requests written to it.
func (l *LateCancels) Dialer(dial pgconn.DialFunc) pgconn.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &lateConn{Conn: c, l: l}, nil
	}
}

// lateConn is one dialled connection; pgx opens a new connection for a cancel request, and a cancel
// request written to it is delayed. Once it has been, the connection reads as closed to pgx.
type lateConn struct {
	net.Conn
	l    *LateCancels
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
		time.Sleep(c.l.Delay)
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
