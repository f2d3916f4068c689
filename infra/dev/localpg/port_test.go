package localpg

import (
	"context"
	"net"
	"os"
	"testing"
	"time"
)

// TestStartOnTakenPort: when another process binds the chosen port before the server does, Start
// tries a fresh port instead of failing.
func TestStartOnTakenPort(t *testing.T) {
	if os.Getenv("DATABASE_URL") != "" {
		t.Skip("DATABASE_URL is set: an outer cluster already exists")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	inst, err := Find(ctx)
	if err != nil {
		if os.Getenv("CI") != "true" {
			t.Skipf("PostgreSQL not available: %v", err)
		}
		t.Fatal(err)
	}
	stranger, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	taken := stranger.Addr().(*net.TCPAddr).Port
	real, calls := freePort, 0
	freePort = func() (int, error) { // not parallel: this test alone replaces it
		calls++
		if calls == 1 {
			return taken, nil
		}
		return real()
	}
	defer func() { freePort = real }()

	c, err := Start(ctx, Options{Installation: inst})
	if err != nil {
		t.Fatalf("start with the first port taken: %v", err)
	}
	defer c.Stop(context.Background())
	if c.Port == taken || calls < 2 {
		t.Fatalf("port %d after %d picks; the taken one was %d", c.Port, calls, taken)
	}
}
