package store_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/cloudassistant/sendfile-archive/migrations"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// Every migration goes up, all the way down, and up again on a real server.
func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("pgx", storetest.EmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := migrations.NewProvider(db)
	if err != nil {
		t.Fatal(err)
	}
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
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'archive'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("archive schema still present after down")
	}
	again, err := p.Up(ctx)
	if err != nil {
		t.Fatalf("up again: %v", err)
	}
	if len(again) != len(up) {
		t.Fatalf("second up applied %d migrations, first %d", len(again), len(up))
	}
}
