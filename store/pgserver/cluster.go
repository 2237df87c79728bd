package pgserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/jackc/pgx/v5"
)

// StartIn starts a server whose files live in dir and outlive it: Stop
// shuts it down and keeps them, and StartIn with the same dir starts the
// same cluster again (initialised on first use). Tests restart PostgreSQL
// under a running archiver with it. It drives pg_ctl, which waits for the
// server to be up or fully down, as root through the postgres user (initdb
// refuses root). dir must be traversable by that user.
func StartIn(ctx context.Context, dir string) (*Server, error) {
	c, err := newCluster(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.data(), "postgresql.conf")); os.IsNotExist(err) {
		if err := c.run("initdb", "-D", c.data(), "--no-sync", "-E", "UTF8", "--locale", "C", "-U", c.user); err != nil {
			return nil, err
		}
	}
	// -h '' listens on the socket only; -F skips fsync, as pgtest does.
	if err := c.pgctl("start", "-l", filepath.Join(c.data(), "server.log"), "-o", "-k "+c.sockets()+" -h '' -F"); err != nil {
		return nil, err
	}
	s := &Server{own: c}
	if err := s.ensureDatabase(ctx, "test"); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// cluster is a data directory and socket directory under one dir, and the
// user the server runs as.
type cluster struct {
	dir, bin, user string
	cred           *syscall.Credential // nil unless running as root
}

func newCluster(dir string) (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	me, err := user.Current()
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, bin: bin, user: me.Username}
	for _, d := range []string{c.data(), c.sockets()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if me.Uid == "0" {
		if err := c.runAsPostgres(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// runAsPostgres hands the directories to the postgres user and runs the
// server's programs as it.
func (c *cluster) runAsPostgres() error {
	pg, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	if err := os.Chmod(c.dir, 0o711); err != nil {
		return err
	}
	for _, d := range []string{c.data(), c.sockets()} {
		if err := os.Chown(d, uid, gid); err != nil {
			return err
		}
	}
	c.user, c.cred = "postgres", &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return nil
}

func (c *cluster) data() string    { return filepath.Join(c.dir, "data") }
func (c *cluster) sockets() string { return filepath.Join(c.dir, "sock") }

// pgctl runs pg_ctl action on the cluster and waits for it to finish.
func (c *cluster) pgctl(action string, args ...string) error {
	return c.run("pg_ctl", append([]string{action, "-D", c.data(), "-w", "-t", "60"}, args...)...)
}

func (c *cluster) run(program string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, program), args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", program, args[0], err, out)
	}
	return nil
}

// binDir finds the server's programs: on PATH, or where Debian puts them.
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(found) == 0 {
		return "", fmt.Errorf("no PostgreSQL server programs (pg_ctl) found on PATH or in /usr/lib/postgresql")
	}
	return filepath.Dir(found[len(found)-1]), nil
}

// ensureDatabase creates database name unless it exists.
func (s *Server) ensureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL in %s: %w", s.own.dir, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	}
	return nil
}
