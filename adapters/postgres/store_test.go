package postgres_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/engine"
)

func TestOpenUnreachableDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	// A port that was free a moment ago: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = postgres.Open(ctx, postgres.Config{URL: "postgres://scheduler@" + addr + "/postgres?connect_timeout=2"})
	if got := engine.ErrorCode(err); got != engine.Unavailable {
		t.Fatalf("Open on a closed port: code %q (%v), want %q", got, err, engine.Unavailable)
	}
}

func TestOpenBadURLIsInvalid(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(context.Background(), postgres.Config{URL: "postgres://%zz"})
	if got := engine.ErrorCode(err); got != engine.Invalid {
		t.Fatalf("Open with a malformed URL: code %q (%v), want %q", got, err, engine.Invalid)
	}
	if msg := engine.ErrorMessage(err); msg == "" {
		t.Error("no caller-safe message")
	}
}
