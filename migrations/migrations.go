// Package migrations holds the archive's PostgreSQL schema as goose SQL
// migrations, embedded in the binary so `archiver migrate` and the tests apply
// exactly the same files.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed sql/*.sql
var files embed.FS

// FS returns the migration files (directory "sql").
func FS() fs.FS { return files }

// Dir is the directory inside FS that holds the migrations.
const Dir = "sql"

// NewProvider returns a goose provider over db with a PostgreSQL session
// locker, so concurrent `archiver migrate` runs (several replicas starting at
// once) apply each migration exactly once.
func NewProvider(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(files, Dir)
	if err != nil {
		return nil, fmt.Errorf("open embedded migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("create migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("create migration provider: %w", err)
	}
	return p, nil
}

// Up applies every pending migration.
func Up(ctx context.Context, db *sql.DB) error {
	p, err := NewProvider(db)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}
