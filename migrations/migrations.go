// Package migrations holds the archive's PostgreSQL schema as goose SQL
// migrations, embedded in the binary so `archiver migrate` and the tests apply
// exactly the same files.
//
// Everything the archive owns lives in the schema "archive", goose's own
// bookkeeping table (archive.goose_db_version) included, so one schema is the
// whole archive and nothing is left in public. Migrations run as the
// archive's owner (the role that first ran them, or a superuser), never as
// the archiver's writer login.
package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed sql/*.sql
var files embed.FS

// FS returns the migration files (directory "sql").
func FS() fs.FS { return files }

// Dir is the directory inside FS that holds the migrations.
const Dir = "sql"

// VersionTable is goose's bookkeeping table.
const VersionTable = "archive.goose_db_version"

// destructiveDowns lists the migrations whose Down drops tables that hold
// events (or the archive itself). Rolling one of them back destroys history
// that exists nowhere else, so Down refuses it unless told to destroy.
var destructiveDowns = []int64{1}

// RebuildAfter lists the migrations that add projections the archive must
// fold from its existing events (the status intervals): after applying one,
// `archiver migrate` rebuilds the projections.
var RebuildAfter = []int64{5}

// ErrWouldDestroy means a rollback would drop archived history.
var ErrWouldDestroy = errors.New("rolling back would destroy the archive")

// NewProvider returns a goose provider over db with a PostgreSQL session
// locker, so concurrent `archiver migrate` runs (several replicas starting at
// once) apply each migration exactly once.
func NewProvider(ctx context.Context, db *sql.DB) (*goose.Provider, error) {
	if err := prepare(ctx, db); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(files, Dir)
	if err != nil {
		return nil, fmt.Errorf("open embedded migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("create migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true), goose.WithTableName(VersionTable))
	if err != nil {
		return nil, fmt.Errorf("create migration provider: %w", err)
	}
	return p, nil
}

// prepare makes the schema goose keeps its table in, and adopts the
// bookkeeping of archives migrated before it moved there from public (the
// public table is copied, not moved: it may serve other applications).
func prepare(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmts := []string{
		// One preparer at a time; a constant key of the archive's own.
		`SELECT pg_advisory_xact_lock(7364919463283841)`,
		`CREATE SCHEMA IF NOT EXISTS archive`,
		`DO $$ BEGIN
			IF to_regclass('archive.goose_db_version') IS NULL AND to_regclass('public.goose_db_version') IS NOT NULL
			   AND to_regclass('archive.events') IS NOT NULL THEN
				CREATE TABLE archive.goose_db_version (LIKE public.goose_db_version INCLUDING ALL);
				INSERT INTO archive.goose_db_version (version_id, is_applied, tstamp)
					SELECT version_id, is_applied, tstamp FROM public.goose_db_version ORDER BY id;
				RAISE NOTICE 'archive: migration history copied from public.goose_db_version to archive.goose_db_version; drop the public table once no other application uses it';
			END IF;
		END $$`,
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("prepare migrations: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	return nil
}

// Up applies every pending migration.
func Up(ctx context.Context, db *sql.DB) ([]*goose.MigrationResult, error) {
	p, err := NewProvider(ctx, db)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return res, fmt.Errorf("apply migrations: %w", err)
	}
	return res, nil
}

// Down rolls back the most recent migration. One whose rollback drops
// archived events is refused with ErrWouldDestroy unless destroy is set.
func Down(ctx context.Context, db *sql.DB, destroy bool) (*goose.MigrationResult, error) {
	p, err := NewProvider(ctx, db)
	if err != nil {
		return nil, err
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	if current == 0 {
		return nil, errors.New("nothing to roll back: no migration is applied")
	}
	if slices.Contains(destructiveDowns, current) && !destroy {
		return nil, fmt.Errorf("%w: migration %d is the one that holds every archived event; pass --destroy-archive if that is what you want",
			ErrWouldDestroy, current)
	}
	res, err := p.Down(ctx)
	if err != nil {
		return res, fmt.Errorf("roll back migration %d: %w", current, err)
	}
	return res, nil
}

// Hash identifies the migrated schema: a digest of every migration file, so
// test databases built from a template are rebuilt when a migration changes.
func Hash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(files, Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
