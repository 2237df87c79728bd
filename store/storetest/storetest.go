// Package storetest gives tests a migrated PostgreSQL database of their own:
// a per-test database cloned from a migrated template (pgtestdb), on the
// server named by ARCHIVER_TEST_DATABASE_URL or, when that is unset, on a
// throwaway server started from the local PostgreSQL installation (pgtest).
//
// Tests that need a database never skip: without PostgreSQL they fail with a
// sentence that says how to get one.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver pgtestdb uses
	"github.com/peterldowns/pgtestdb"

	"github.com/cloudassistant/sendfile-archive/migrations"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/pgserver"
)

// EnvURL names the variable that points tests at an existing server.
const EnvURL = "ARCHIVER_TEST_DATABASE_URL"

const howToGetOne = "tests need PostgreSQL: set " + EnvURL + " to a server URL whose user may create roles and databases, " +
	"or install the PostgreSQL server binaries (e.g. apt-get install postgresql) so a throwaway server can be started"

var server struct {
	once sync.Once
	cfg  pgtestdb.Config
	pg   *pgserver.Server
	err  error
}

// Main runs the package's tests and then stops the throwaway server, if one
// was started. Use it from TestMain: os.Exit(storetest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if server.pg != nil {
		_ = server.pg.Stop()
	}
	return code
}

func serverConfig() (pgtestdb.Config, error) {
	server.once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			server.cfg, server.err = configFromURL(u)
			return
		}
		pg, err := pgserver.Start(context.Background())
		if err != nil {
			server.err = fmt.Errorf("%s (starting one failed: %v)", howToGetOne, err)
			return
		}
		server.pg = pg
		server.cfg = pgtestdb.Config{
			DriverName: "pgx", Host: "localhost", Port: "5432", User: pg.User(), Database: "test",
			Options: "host=" + url.QueryEscape(pg.SocketDir()) + "&sslmode=disable",
		}
	})
	cfg := server.cfg
	// The test role may create roles so migrations that set up the writer and
	// reader roles run as they would for an operator.
	cfg.TestRole = &pgtestdb.Role{
		Username: pgtestdb.DefaultRoleUsername, Password: pgtestdb.DefaultRolePassword,
		Capabilities: "NOSUPERUSER NOCREATEDB CREATEROLE",
	}
	cfg.ForceTerminateConnections = true
	return cfg, server.err
}

func configFromURL(u string) (pgtestdb.Config, error) {
	pc, err := pgx.ParseConfig(u)
	if err != nil {
		return pgtestdb.Config{}, fmt.Errorf("%s is not a valid PostgreSQL URL", EnvURL)
	}
	opts := "sslmode=disable"
	if strings.HasPrefix(pc.Host, "/") {
		opts = "host=" + url.QueryEscape(pc.Host) + "&" + opts
		pc.Host = "localhost"
	}
	return pgtestdb.Config{
		DriverName: "pgx", Host: pc.Host, Port: fmt.Sprint(pc.Port), User: pc.User, Password: pc.Password,
		Database: pc.Database, Options: opts,
	}, nil
}

// migrator builds template databases with the archive's own migration path
// (migrations.Up), exactly as `archiver migrate` does.
type migrator struct{}

func (migrator) Hash() (string, error) { return migrations.Hash() }

func (migrator) Migrate(ctx context.Context, db *sql.DB, _ pgtestdb.Config) error {
	_, err := migrations.Up(ctx, db)
	return err
}

// URL returns the URL of a fresh, migrated database that is dropped when the
// test ends.
func URL(t testing.TB) string {
	t.Helper()
	cfg, err := serverConfig()
	if err != nil {
		t.Fatalf("%v", err)
	}
	return pgtestdb.Custom(t, cfg, migrator{}).URL()
}

// AdminURL returns a superuser URL for the same database as url, for tests
// that must act as an attacker with full rights (disabling triggers).
func AdminURL(t testing.TB, dbURL string) string {
	t.Helper()
	cfg, err := serverConfig()
	if err != nil {
		t.Fatalf("%v", err)
	}
	pc, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatalf("parse test database URL: %v", err)
	}
	admin := cfg
	admin.Database = pc.Database
	return admin.URL()
}

// New returns a Store on a fresh, migrated database.
func New(t testing.TB) *store.Store {
	t.Helper()
	s, _ := Open(t)
	return s
}

// Open returns a Store on a fresh, migrated database, and the database's
// URL for tests that also connect to it otherwise (other roles, processes).
func Open(t testing.TB) (*store.Store, string) {
	t.Helper()
	url := URL(t)
	s, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(s.Close)
	return s, url
}

// EmptyURL returns the URL of a fresh database with no migrations applied,
// for tests of the migrations themselves.
func EmptyURL(t testing.TB) string {
	t.Helper()
	cfg, err := serverConfig()
	if err != nil {
		t.Fatalf("%v", err)
	}
	return pgtestdb.Custom(t, cfg, pgtestdb.NoopMigrator{}).URL()
}
