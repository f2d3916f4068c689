package sqltree

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/peermentor/scenario-scheduler/adapters/postgres"
	"github.com/peermentor/scenario-scheduler/infra/dev/localpg"
)

// Scratch is a throw-away database on a server, created from template1 as pgtest's templates are (so on a
// localpg cluster it has what Supabase pre-creates), and dropped by Drop.
type Scratch struct {
	URL    string // the database's URL, as the server URL's role
	server string
	name   string
}

// NewScratch creates a scratch database on the server at serverURL (DATABASE_URL) and applies ms to it
// with postgres.Migrate, as pgtest migrates its templates.
func NewScratch(ctx context.Context, serverURL string, ms []postgres.Migration) (*Scratch, error) {
	s, err := createDatabase(ctx, serverURL, "")
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, s.URL)
	if err == nil {
		_, err = postgres.Migrate(ctx, conn, ms)
		conn.Close(ctx)
	}
	if err != nil {
		s.Drop()
		return nil, fmt.Errorf("migrating the scratch database: %w", err)
	}
	return s, nil
}

// Clone creates another scratch database with s's content (CREATE DATABASE ... TEMPLATE): nobody may be
// connected to s meanwhile.
func (s *Scratch) Clone(ctx context.Context) (*Scratch, error) {
	return createDatabase(ctx, s.server, s.name)
}

func createDatabase(ctx context.Context, serverURL, template string) (*Scratch, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "sqltree_" + hex.EncodeToString(b)
	dbURL, err := postgres.WithDatabase(serverURL, name)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return nil, fmt.Errorf("connecting to DATABASE_URL: %w", err)
	}
	defer conn.Close(ctx)
	stmt := "create database " + name
	if template != "" {
		stmt += " template " + template
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return nil, fmt.Errorf("creating a scratch database: %w", err)
	}
	return &Scratch{URL: dbURL, server: serverURL, name: name}, nil
}

// Drop drops the scratch database, as the administrator where there is one (ADMIN_DATABASE_URL), since
// (force) must end every session. Errors are reported on stderr: a leftover scratch database is harmless.
func (s *Scratch) Drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dropURL := s.server
	if admin := os.Getenv(localpg.AdminURLVar); admin != "" {
		dropURL = admin
	}
	conn, err := pgx.Connect(ctx, dropURL)
	if err == nil {
		_, err = conn.Exec(ctx, fmt.Sprintf(`drop database if exists %s with (force)`, s.name))
		conn.Close(ctx)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sqltree: dropping scratch database %s: %v\n", s.name, err)
	}
}

// Generate migrates a scratch database on serverURL with ms, dumps it and returns the project's objects.
func Generate(ctx context.Context, serverURL string, ms []postgres.Migration) ([]Object, error) {
	s, err := NewScratch(ctx, serverURL, ms)
	if err != nil {
		return nil, err
	}
	defer s.Drop()
	return DumpObjects(ctx, s.URL)
}
