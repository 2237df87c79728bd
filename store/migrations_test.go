package store_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/cloudassistant/sendfile-archive/migrations"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// provider opens the database at url and the archive's migration provider on it.
func provider(t *testing.T, url string) (*sql.DB, *goose.Provider) {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	p, err := migrations.NewProvider(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return db, p
}

// Every migration goes up, all the way down, and up again on a real server.
func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := provider(t, storetest.EmptyURL(t))
	up, err := p.Up(ctx)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if len(up) == 0 {
		t.Fatal("no migrations applied")
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("down: %v", err)
	}
	// Goose keeps its bookkeeping in the archive schema, so the schema stays;
	// nothing of the archive itself may.
	var left []string
	rows, err := db.QueryContext(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'archive' AND c.relname NOT LIKE 'goose_db_version%'
		UNION ALL SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'archive'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		left = append(left, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("archive objects still present after down: %v", left)
	}
	again, err := p.Up(ctx)
	if err != nil {
		t.Fatalf("up again: %v", err)
	}
	if len(again) != len(up) {
		t.Fatalf("second up applied %d migrations, first %d", len(again), len(up))
	}
}

// Archives migrated when goose kept its table in public are adopted: the
// history moves into the archive schema and nothing is applied twice.
func TestMigrationHistoryAdoptedFromPublic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("pgx", storetest.EmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sub, err := fs.Sub(migrations.FS(), migrations.Dir)
	if err != nil {
		t.Fatal(err)
	}
	old, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.UpTo(ctx, 2); err != nil {
		t.Fatalf("the earlier layout: %v", err)
	}
	res, err := migrations.Up(ctx, db)
	if err != nil {
		t.Fatalf("up over the earlier layout: %v", err)
	}
	for _, r := range res {
		if r.Source.Version <= 2 {
			t.Errorf("migration %d applied again", r.Source.Version)
		}
	}
	var versions int
	if err := db.QueryRowContext(ctx, `SELECT count(DISTINCT version_id) FROM archive.goose_db_version WHERE version_id > 0`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if want := len(res) + 2; versions != want {
		t.Fatalf("archive.goose_db_version records %d migrations, want %d", versions, want)
	}
}

// Rolling back the migration that holds the events is refused unless the
// caller says to destroy the archive; later migrations roll back freely.
func TestDownRefusesToDestroyTheArchive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := provider(t, storetest.URL(t))
	if _, err := p.DownTo(ctx, 1); err != nil {
		t.Fatalf("down to 1: %v", err)
	}
	if _, err := migrations.Down(ctx, db, false); !errors.Is(err, migrations.ErrWouldDestroy) {
		t.Fatalf("down below 1 without destroy: %v, want ErrWouldDestroy", err)
	}
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('archive.events') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		t.Fatalf("archive.events gone after a refused rollback: %v %v", exists, err)
	}
	if _, err := migrations.Down(ctx, db, true); err != nil {
		t.Fatalf("down with destroy: %v", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('archive.events') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Fatalf("archive.events still there after a destroying rollback: %v %v", exists, err)
	}
}

// Every table, view and column an analyst reads explains itself.
func TestEverythingIsCommented(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("pgx", storetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `
		SELECT c.relname || coalesce('.' || a.attname, '')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE n.nspname = 'archive' AND c.relkind IN ('r', 'v') AND c.relname NOT LIKE 'goose%'
		  AND coalesce(nullif(CASE WHEN a.attname IS NULL THEN obj_description(c.oid) ELSE col_description(c.oid, a.attnum) END, ''), '') = ''
		UNION ALL
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'archive' AND c.relkind IN ('r', 'v') AND c.relname NOT LIKE 'goose%'
		  AND coalesce(obj_description(c.oid), '') = ''
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var missing []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		missing = append(missing, name)
	}
	if len(missing) > 0 {
		t.Fatalf("no comment on: %v", missing)
	}
}
