package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/cloudassistant/sendfile-archive/migrations"

	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// loginIn creates a login role in group (dropped when the test ends) and
// connects to url as it; the throwaway server trusts local connections.
func loginIn(t *testing.T, owner *pgx.Conn, url, group string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("t_%s_%d", group, rand.Uint32())
	if _, err := owner.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN IN ROLE %s`, name, group)); err != nil {
		t.Fatalf("create login role in %s: %v", group, err)
	}
	t.Cleanup(func() { _, _ = owner.Exec(context.Background(), fmt.Sprintf(`DROP ROLE IF EXISTS %s`, name)) })
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = name, ""
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect as %s: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// The migrations create a writer role that may append events but never
// change or remove them, and a read-only reader role.
func TestRolesGrantLeastPrivilege(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	var targetID int64
	if err := owner.QueryRow(ctx, `INSERT INTO archive.targets (region) VALUES ('cn-roles') RETURNING id`).Scan(&targetID); err != nil {
		t.Fatal(err)
	}
	login := func(group string) *pgx.Conn { return loginIn(t, owner, url, group) }
	insert := fmt.Sprintf(`INSERT INTO archive.events (target_id, invoke_id, seq, type, occurred_at, recorded_at, evidence,
		payload, prev_hash, hash, chain_position) VALUES (%d, 'f-roles', 1, 'invocation_discovered', now(), now(), 'observed', '{}', '\x00', '\x00', 1)`, targetID)
	denied := func(c *pgx.Conn, stmt string) {
		t.Helper()
		_, err := c.Exec(ctx, stmt)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s: want permission denied, got %v", strings.Fields(stmt)[0], err)
		}
	}
	writer := login("archive_writer")
	if _, err := writer.Exec(ctx, insert); err != nil {
		t.Fatalf("writer cannot append: %v", err)
	}
	denied(writer, `UPDATE archive.events SET evidence = 'x'`)
	denied(writer, `DELETE FROM archive.events`)
	denied(writer, `TRUNCATE archive.events`)

	reader := login("archive_reader")
	var n int
	if err := reader.QueryRow(ctx, `SELECT count(*) FROM archive.events`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("reader select: %d %v", n, err)
	}
	if err := reader.QueryRow(ctx, `SELECT count(*) FROM archive.instance_status_at('f-roles', now())`).Scan(&n); err != nil {
		t.Fatalf("reader cannot call the point-in-time function: %v", err)
	}
	denied(reader, strings.Replace(insert, "'f-roles', 1", "'f-roles', 2", 1))
	denied(reader, `UPDATE archive.invocations SET name = 'x'`)
}

// A user who may not create roles can still migrate: the role setup is
// skipped with a notice instead of failing the migration.
func TestMigrateWithoutCreateRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.EmptyURL(t)
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	name := fmt.Sprintf("t_nocr_%d", rand.Uint32())
	if _, err := owner.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN NOCREATEROLE`, name)); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, fmt.Sprintf(`GRANT CREATE ON DATABASE %s TO %s; GRANT CREATE ON SCHEMA public TO %s`,
		owner.Config().Database, name, name)); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = name
	var notices []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Message) }
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if _, err := migrations.Up(ctx, db); err != nil {
		t.Fatalf("migrate as a user without CREATEROLE: %v", err)
	}
	if !strings.Contains(strings.Join(notices, "\n"), "may not create roles") {
		t.Fatalf("no notice about skipped roles; notices: %q", notices)
	}
}

// Tables that later migrations add are readable by archive_reader without a
// grant of their own: the migrations set default privileges.
func TestLaterTablesReadableByReader(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	// What a later migration would do, as the same (owning) role.
	if _, err := owner.Exec(ctx, `CREATE TABLE archive.added_later (x int); INSERT INTO archive.added_later VALUES (7);
		CREATE FUNCTION archive.added_later_fn() RETURNS int LANGUAGE sql AS 'SELECT 8'`); err != nil {
		t.Fatal(err)
	}
	reader := loginIn(t, owner, url, "archive_reader")
	var x, y int
	if err := reader.QueryRow(ctx, `SELECT x, archive.added_later_fn() FROM archive.added_later`).Scan(&x, &y); err != nil || x != 7 || y != 8 {
		t.Fatalf("archive_reader cannot read a table or call a function added later: %d %d %v", x, y, err)
	}
	if _, err := reader.Exec(ctx, `INSERT INTO archive.added_later VALUES (9)`); err == nil {
		t.Fatal("archive_reader may write a table added later")
	}
}

// File contents can hold secrets: archive_reader cannot read them,
// archive_content_reader can.
func TestContentsNeedTheirOwnRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, `INSERT INTO archive.contents (sha256, content, bytes) VALUES ('abc', 'password=hunter2', 16)`); err != nil {
		t.Fatal(err)
	}
	reader := loginIn(t, owner, url, "archive_reader")
	var n int
	_, err = reader.Exec(ctx, `SELECT content FROM archive.contents`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Fatalf("archive_reader reads contents: %v", err)
	}
	if err := reader.QueryRow(ctx, `SELECT count(*) FROM archive.sends`).Scan(&n); err != nil {
		t.Fatalf("archive_reader cannot read sends any more: %v", err)
	}
	contents := loginIn(t, owner, url, "archive_content_reader")
	var body string
	if err := contents.QueryRow(ctx, `SELECT content FROM archive.contents WHERE sha256 = 'abc'`).Scan(&body); err != nil || body != "password=hunter2" {
		t.Fatalf("archive_content_reader: %q %v", body, err)
	}
}
