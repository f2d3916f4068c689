package bench

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer answers every byte it reads with the same byte, until closed.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func TestLatencyProxyDelaysEveryRoundTrip(t *testing.T) {
	t.Parallel()
	const rtt = 40 * time.Millisecond
	p, err := startLatencyProxy(echoServer(t), rtt)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1)
	for i := range 5 {
		t0 := time.Now()
		if _, err := c.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(t0); took < rtt {
			t.Fatalf("round trip %d took %v through a proxy of %v", i, took, rtt)
		}
		if buf[0] != byte(i) {
			t.Fatalf("round trip %d: got byte %d", i, buf[0])
		}
	}
}

func TestLatencyProxyKeepsTheBytesInOrder(t *testing.T) {
	t.Parallel()
	p, err := startLatencyProxy(echoServer(t), 2*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := make([]byte, 1<<20)
	if _, err := rand.Read(want); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = c.Write(want) }()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the bytes that came back differ from the bytes sent")
	}
}

func TestLatencyProxyURL(t *testing.T) {
	t.Parallel()
	p, err := startLatencyProxy("127.0.0.1:1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got, err := p.URL("postgres://postgres@127.0.0.1:5432/db?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	if want := "postgres://postgres@" + p.Addr() + "/db?sslmode=disable"; got != want {
		t.Fatalf("URL = %s, want %s", got, want)
	}
}
