package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrNotFound means the requested row (or invocation) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable means PostgreSQL could not be reached or dropped the connection.
	ErrUnavailable = errors.New("database unavailable")
	// ErrConflict means a uniqueness guard refused a write (another writer got there first).
	ErrConflict = errors.New("conflicting write")
	// ErrNotMigrated means the archive schema is missing.
	ErrNotMigrated = errors.New("archive schema missing: run `archiver migrate` first")
	// ErrPermission means the connected role may not do what was asked.
	ErrPermission = errors.New("permission denied")
)

// DBTX is what query code needs from a pool or a transaction, so the same code
// runs on either.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// Store is the archive database. Every statement the archive runs goes
// through its methods; nothing outside this package holds SQL.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to PostgreSQL at url (any libpq URL or DSN) and checks it answers.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx errors can echo the URL, password included: say only what to fix.
		return nil, errors.New("parse database URL: not a valid PostgreSQL connection string")
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgx's default (4 on two cores) serves one target at a time: a
		// target walking holds its lease's connection, one for its page
		// transactions and one for reading the next page's known state.
		cfg.MaxConns = max(cfg.MaxConns, defaultMaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", interpretError(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database at %s: %w", safeHost(cfg), interpretError(err))
	}
	return &Store{pool: pool}, nil
}

// defaultMaxConns is the pool's size unless the URL sets pool_max_conns:
// enough for the default four concurrent walks (ConcurrentWalks).
const defaultMaxConns = 17

// ConcurrentWalks is how many targets can walk at once without waiting for
// a connection: each holds up to four (its lease, the transactions of two
// overlapping pages and the known-state read of the next), and one is kept
// for everything else.
func (s *Store) ConcurrentWalks() int { return max(1, (int(s.pool.Config().MaxConns)-1)/4) }

// Pool returns the underlying pool, for tests and tools that inspect the
// database directly. The archive itself never uses it outside this package.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close releases every connection.
func (s *Store) Close() { s.pool.Close() }

// CheckSchema reports ErrNotMigrated when the archive schema is missing, so
// a daemon can refuse to start against an unmigrated database.
func (s *Store) CheckSchema(ctx context.Context) error {
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('archive.events') IS NOT NULL`).Scan(&ok); err != nil {
		return fmt.Errorf("check schema: %w", interpretError(err))
	}
	if !ok {
		return ErrNotMigrated
	}
	return nil
}

func safeHost(cfg *pgxpool.Config) string {
	return net.JoinHostPort(cfg.ConnConfig.Host, fmt.Sprint(cfg.ConnConfig.Port)) + "/" + cfg.ConnConfig.Database
}

// dbError is a database error mapped to one of the package's sentinels. Its
// message is a sentence for people; both the sentinel and PostgreSQL's own
// error stay in the chain for errors.Is and errors.As.
type dbError struct {
	kind  error
	cause error
	what  string
}

func (e *dbError) Error() string {
	switch {
	case e.what == "":
		return e.kind.Error()
	case strings.HasPrefix(e.what, e.kind.Error()):
		return e.what // PostgreSQL already said it ("permission denied for ...")
	}
	return e.kind.Error() + ": " + e.what
}

func (e *dbError) Unwrap() []error { return []error{e.kind, e.cause} }

// interpretError maps pgx and PostgreSQL errors to the package's sentinels.
// It is the one error boundary of the database layer.
func interpretError(err error) error {
	var done *dbError
	if err == nil || errors.As(err, &done) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &dbError{kind: ErrNotFound, cause: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == pgerrcode.UniqueViolation:
			return &dbError{kind: ErrConflict, cause: err, what: pgErr.Message}
		case pgErr.Code == pgerrcode.InvalidSchemaName || pgErr.Code == pgerrcode.UndefinedTable ||
			pgErr.Code == pgerrcode.UndefinedFunction:
			return &dbError{kind: ErrNotMigrated, cause: err, what: pgErr.Message}
		case pgErr.Code == pgerrcode.InsufficientPrivilege:
			return &dbError{kind: ErrPermission, cause: err, what: pgErr.Message}
		case pgerrcode.IsConnectionException(pgErr.Code) || pgErr.Code == pgerrcode.AdminShutdown ||
			pgErr.Code == pgerrcode.CrashShutdown || pgErr.Code == pgerrcode.CannotConnectNow:
			return &dbError{kind: ErrUnavailable, cause: err, what: pgErr.Message}
		}
		return err
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || pgconn.SafeToRetry(err) || isNetErr(err) {
		return &dbError{kind: ErrUnavailable, cause: err, what: err.Error()}
	}
	return err
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

// inTx runs fn in one transaction, committing if it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, fn)
	if err != nil {
		return interpretError(err)
	}
	return nil
}
