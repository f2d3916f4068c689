package bench

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"time"
)

// latencyProxy forwards TCP connections on loopback to a PostgreSQL server and holds every chunk of bytes
// for half a round trip in each direction: a network's delay between the function and its database,
// without loss or a bandwidth limit. The engine and the naive loop are measured through the same proxy,
// so the comparison includes what each pays per round trip.
type latencyProxy struct {
	ln       net.Listener
	upstream string
	oneWay   time.Duration

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// startLatencyProxy listens on a free loopback port (the proxy keeps its listener, so no other process
// can take the port) and forwards to upstream ("host:port") with round-trip time rtt.
func startLatencyProxy(upstream string, rtt time.Duration) (*latencyProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &latencyProxy{ln: ln, upstream: upstream, oneWay: rtt / 2, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's "host:port".
func (p *latencyProxy) Addr() string { return p.ln.Addr().String() }

// URL returns dbURL with its host and port replaced by the proxy's.
func (p *latencyProxy) URL(dbURL string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", err
	}
	u.Host = p.Addr()
	return u.String(), nil
}

// Close stops accepting, cuts every forwarded connection and waits for the proxy's goroutines.
func (p *latencyProxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *latencyProxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *latencyProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.upstream)
		if err != nil {
			client.Close()
			continue
		}
		p.track(client, true)
		p.track(server, true)
		p.wg.Add(2)
		go p.forward(server, client)
		go p.forward(client, server)
	}
}

// chunk is bytes read at one moment, due for writing oneWay later.
type chunk struct {
	data []byte
	due  time.Time
}

// forward copies src to dst, each chunk delayed by oneWay, in order; then closes both.
func (p *latencyProxy) forward(dst, src net.Conn) {
	defer p.wg.Done()
	queue := make(chan chunk, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range queue {
			time.Sleep(time.Until(c.due))
			if _, err := dst.Write(c.data); err != nil {
				for range queue { // drain, so the reader is never blocked
				}
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			queue <- chunk{data: append([]byte(nil), buf[:n]...), due: time.Now().Add(p.oneWay)}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				src.Close()
			}
			break
		}
	}
	close(queue)
	<-done
	dst.Close()
	src.Close()
	p.track(dst, false)
	p.track(src, false)
}

// hostPort is the "host:port" a postgres:// URL connects to (port 5432 when it names none).
func hostPort(dbURL string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", err
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "5432"), nil
	}
	return u.Host, nil
}
