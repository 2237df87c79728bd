package store

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cloudassistant/sendfile-archive/model"
)

// Target is one (account, region, source) the archiver walks.
type Target struct {
	ID      int64
	Account string
	Region  string
	Source  model.SourceID
	// Retired is set by EnsureTarget for a retired target, which is not
	// walked (see RetireTarget).
	Retired bool `db:"-" json:"-"`
}

// String names the target for logs and messages.
func (t Target) String() string {
	if t.Account == "" {
		return t.Region + "/" + string(t.Source)
	}
	return t.Account + "/" + t.Region + "/" + string(t.Source)
}

// EnsureTarget returns the target, creating it on first use. An archive made
// before targets were keyed by account holds its region under the account
// ""; the first account to ask for that region and source adopts it (the
// account is not hashed, so the chain is unaffected), and adopted says so.
func (s *Store) EnsureTarget(ctx context.Context, account, region string, source model.SourceID) (t Target, adopted bool, err error) {
	t = Target{Account: account, Region: region, Source: source}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if account != "" {
			tag, err := tx.Exec(ctx, `UPDATE archive.targets SET account = $1
				WHERE account = '' AND region = $2 AND source = $3
				  AND NOT EXISTS (SELECT 1 FROM archive.targets WHERE account = $1 AND region = $2 AND source = $3)`,
				account, region, source)
			if err != nil {
				return err
			}
			adopted = tag.RowsAffected() == 1
		}
		return tx.QueryRow(ctx, `
			INSERT INTO archive.targets (account, region, source) VALUES ($1, $2, $3)
			ON CONFLICT (account, region, source) DO UPDATE SET account = EXCLUDED.account
			RETURNING id, retired_at IS NOT NULL`, account, region, source).Scan(&t.ID, &t.Retired)
	})
	if err != nil {
		return Target{}, false, fmt.Errorf("ensure target %s: %w", t, interpretError(err))
	}
	return t, adopted, nil
}

// Targets lists every target.
func (s *Store) Targets(ctx context.Context) ([]Target, error) { return targets(ctx, s.pool) }

func targets(ctx context.Context, db DBTX) ([]Target, error) {
	rows, err := db.Query(ctx, `SELECT id, account, region, source FROM archive.targets ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list targets: %w", interpretError(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[Target])
	if err != nil {
		return nil, fmt.Errorf("list targets: %w", interpretError(err))
	}
	return out, nil
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
