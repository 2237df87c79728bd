// Package pgserver starts a throwaway PostgreSQL server from the local
// installation's binaries, for the demo and for tests when no server URL is
// given. It wraps github.com/rubenv/pgtest (which also works as root, by
// running the server as the postgres user) and fixes the one thing the
// archive cannot live with: a cluster initialised under the C locale defaults
// to SQL_ASCII, so template1 is recreated as UTF8 before anything uses it.
package pgserver

import (
	"context"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/rubenv/pgtest"
)

// Server is a running throwaway server listening on a Unix socket only:
// pgtest's, or a cluster of our own (StartIn).
type Server struct {
	pg  *pgtest.PG
	own *cluster
}

// Start initialises and starts a server in a temporary directory.
func Start(ctx context.Context) (*Server, error) {
	pg, err := pgtest.Start()
	if err != nil {
		return nil, fmt.Errorf("start throwaway PostgreSQL from the local installation: %w", err)
	}
	s := &Server{pg: pg}
	if err := s.utf8Template(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// URL returns a connection URL for database db as the server's superuser.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://%s@localhost/%s?host=%s&sslmode=disable",
		url.PathEscape(s.User()), url.PathEscape(db), url.QueryEscape(s.SocketDir()))
}

// User is the superuser name, SocketDir the directory of the Unix socket.
func (s *Server) User() string {
	if s.own != nil {
		return s.own.user
	}
	return s.pg.User
}

// SocketDir is where the server's Unix socket lives.
func (s *Server) SocketDir() string {
	if s.own != nil {
		return s.own.sockets()
	}
	return s.pg.Host
}

// Stop shuts the server down (a fast shutdown: sessions are ended) and,
// unless it was started with StartIn, removes its files.
func (s *Server) Stop() error {
	if s == nil {
		return nil
	}
	if s.own != nil {
		return s.own.pgctl("stop", "-m", "fast")
	}
	return s.pg.Stop()
}

func (s *Server) utf8Template(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to throwaway PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var enc string
	if err := conn.QueryRow(ctx, `SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'template1'`).Scan(&enc); err != nil {
		return fmt.Errorf("read template encoding: %w", err)
	}
	if enc == "UTF8" {
		return nil
	}
	for _, stmt := range []string{
		`ALTER DATABASE template1 IS_TEMPLATE false`,
		`DROP DATABASE template1`,
		`CREATE DATABASE template1 TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' IS_TEMPLATE true`,
		`DROP DATABASE IF EXISTS test`,
		`CREATE DATABASE test`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("make template1 UTF8 (%s): %w", stmt, err)
		}
	}
	return nil
}
