package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/peermentor/scenario-scheduler/engine"
)

// TestClassifyClosedConnection: a closed connection is recognised by its type (pgconn.ErrConnClosed),
// wrapped or not, as "unavailable"; an error that merely says "conn closed" in its text is not.
func TestClassifyClosedConnection(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want engine.Code
	}{
		{"pgconn.ErrConnClosed", pgconn.ErrConnClosed, engine.Unavailable},
		{"wrapped", fmt.Errorf("claiming: %w", pgconn.ErrConnClosed), engine.Unavailable},
		{"only the words", errors.New("the remote said: conn closed"), engine.Internal},
	}
	if url := os.Getenv("DATABASE_URL"); url != "" {
		// What pgx really returns for a statement on a connection closed before it.
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close(ctx)
		_, err = conn.Exec(ctx, "select 1")
		cases = append(cases, struct {
			name string
			err  error
			want engine.Code
		}{"a closed pgx connection", err, engine.Unavailable})
	}
	for _, tc := range cases {
		if got := engine.ErrorCode(classify(tc.err)); got != tc.want {
			t.Errorf("%s (%v): %q, want %q", tc.name, tc.err, got, tc.want)
		}
	}
}
