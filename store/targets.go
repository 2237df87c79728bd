package store

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SourceSendFileResults names the ECS DescribeSendFileResults source.
const SourceSendFileResults = "ecs.DescribeSendFileResults"

// Target is one (account, region, source) the archiver walks.
type Target struct {
	ID      int64
	Account string
	Region  string
	Source  string
}

// String names the target for logs and messages.
func (t Target) String() string {
	if t.Account == "" {
		return t.Region + "/" + t.Source
	}
	return t.Account + "/" + t.Region + "/" + t.Source
}

// EnsureTarget returns the target, creating it on first use.
func (s *Store) EnsureTarget(ctx context.Context, account, region, source string) (Target, error) {
	t := Target{Account: account, Region: region, Source: source}
	err := s.pool.QueryRow(ctx, `
		INSERT INTO archive.targets (account, region, source) VALUES ($1, $2, $3)
		ON CONFLICT (account, region, source) DO UPDATE SET account = EXCLUDED.account
		RETURNING id`, account, region, source).Scan(&t.ID)
	if err != nil {
		return Target{}, fmt.Errorf("ensure target %s: %w", t, interpretError(err))
	}
	return t, nil
}

// Targets lists every target.
func (s *Store) Targets(ctx context.Context) ([]Target, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, account, region, source FROM archive.targets ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list targets: %w", interpretError(err))
	}
	defer rows.Close()
	var out []Target
	for rows.Next() {
		var t Target
		if err := rows.Scan(&t.ID, &t.Account, &t.Region, &t.Source); err != nil {
			return nil, fmt.Errorf("list targets: %w", interpretError(err))
		}
		out = append(out, t)
	}
	return out, interpretError(rows.Err())
}

// Lease is a held advisory lock on one target. It lives on its own connection
// so that it is released if the process dies (PostgreSQL drops the session).
type Lease struct {
	conn *pgxpool.Conn
	key  int64
}

// leaseKey namespaces the advisory lock so it does not collide with other
// users of advisory locks in the same database.
func leaseKey(targetID int64) int64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte("sendfile-archive.target"))
	return int64(h.Sum32())<<32 | targetID&0xffffffff
}

// TryLease takes the target's lease without waiting. ok is false when another
// archiver holds it.
func (s *Store) TryLease(ctx context.Context, targetID int64) (lease *Lease, ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("acquire lease connection: %w", interpretError(err))
	}
	key := leaseKey(targetID)
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("take lease: %w", interpretError(err))
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	return &Lease{conn: conn, key: key}, true, nil
}

// Release gives the lease up. If the unlock fails, the connection is closed
// instead, which releases the lock just the same.
func (l *Lease) Release(ctx context.Context) {
	if l == nil || l.conn == nil {
		return
	}
	if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, l.key); err != nil {
		_ = l.conn.Conn().Close(ctx)
	}
	l.conn.Release()
	l.conn = nil
}
