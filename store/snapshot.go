package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// Snapshot is a read-only view of the archive as of one instant: every read
// through it sees the same committed state however long it takes and
// whatever is appended meanwhile, so a verification or an export never mixes
// two states of a chain. Several cursors can be read side by side.
type Snapshot struct {
	tx      pgx.Tx
	cursors int
}

// ReadSnapshot runs fn in a read-only, repeatable-read transaction.
func (s *Store) ReadSnapshot(ctx context.Context, fn func(*Snapshot) error) error {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			// Long reads sort a send or instance list at a time; in memory
			// that is several times faster than PostgreSQL's 4 MB default.
			if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '64MB'`); err != nil {
				return err
			}
			return fn(&Snapshot{tx: tx})
		})
	return interpretError(err)
}

// ChainHeads returns every target's recorded chain head.
func (s *Snapshot) ChainHeads(ctx context.Context) ([]ChainHead, error) { return chainHeads(ctx, s.tx) }

// fetchBatch is how many rows a cursor fetches per round trip: large enough
// that round trips do not dominate, small enough that memory stays flat.
const fetchBatch = 2000

// cursor reads a query's rows in batches. A declared cursor is a
// server-side cursor: any number can be open at once in the snapshot's
// transaction and be read side by side. A streaming one is a plain query
// whose rows the server sends without waiting to be asked, so reading and
// the server's work overlap; only one can be open at a time.
type cursor struct {
	tx   pgx.Tx
	name string
	rows pgx.Rows // streaming cursors only
	done bool
}

// declare opens a cursor over query.
func (s *Snapshot) declare(ctx context.Context, query string, args ...any) (*cursor, error) {
	s.cursors++
	return declareCursor(ctx, s.tx, s.cursors, query, args...)
}

// declareCursor opens the n-th cursor of a transaction over query.
func declareCursor(ctx context.Context, tx pgx.Tx, n int, query string, args ...any) (*cursor, error) {
	c := &cursor{tx: tx, name: fmt.Sprintf("archive_cursor_%d", n)}
	if _, err := tx.Exec(ctx, `DECLARE `+c.name+` NO SCROLL CURSOR FOR `+query, args...); err != nil {
		return nil, interpretError(err)
	}
	return c, nil
}

// stream opens a streaming cursor over query.
func stream(ctx context.Context, tx pgx.Tx, query string, args ...any) (*cursor, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, interpretError(err)
	}
	return &cursor{tx: tx, rows: rows}, nil
}

// fetch reads the next batch through scan and reports how many rows came;
// 0 means the cursor is exhausted.
func (c *cursor) fetch(ctx context.Context, scan func(pgx.CollectableRow) error) (int, error) {
	if c.done {
		return 0, nil
	}
	if c.rows != nil {
		return c.fetchStream(scan)
	}
	rows, err := c.tx.Query(ctx, fmt.Sprintf(`FETCH %d FROM %s`, fetchBatch, c.name))
	if err != nil {
		return 0, interpretError(err)
	}
	n := 0
	_, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct{}, error) {
		n++
		return struct{}{}, scan(r)
	})
	if err != nil {
		return n, interpretError(err)
	}
	if n < fetchBatch {
		c.done = true
	}
	return n, nil
}

func (c *cursor) fetchStream(scan func(pgx.CollectableRow) error) (int, error) {
	n := 0
	for n < fetchBatch && c.rows.Next() {
		n++
		if err := scan(c.rows); err != nil {
			c.rows.Close()
			c.done = true
			return n, interpretError(err)
		}
	}
	if n < fetchBatch {
		c.done = true
		c.rows.Close()
		return n, interpretError(c.rows.Err())
	}
	return n, nil
}

// EventCursor streams events in a fixed order.
type EventCursor struct {
	c   *cursor
	sc  eventScanner
	buf []StoredEvent
	i   int
}

// Events opens a cursor over the whole event log in the given order.
func (s *Snapshot) Events(ctx context.Context, order EventOrder) (*EventCursor, error) {
	orderBy := "target_id, chain_position"
	if order == ByInvocation {
		orderBy = "invoke_id, target_id, seq"
	}
	return s.eventCursor(ctx, `SELECT `+eventColumns+` FROM archive.events ORDER BY `+orderBy)
}

func (s *Snapshot) eventCursor(ctx context.Context, query string, args ...any) (*EventCursor, error) {
	s.cursors++
	return newEventCursor(ctx, s.tx, s.cursors, query, args...)
}

func newEventCursor(ctx context.Context, tx pgx.Tx, n int, query string, args ...any) (*EventCursor, error) {
	c, err := declareCursor(ctx, tx, n, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return &EventCursor{c: c}, nil
}

// Next returns the next event; ok is false at the end.
func (ec *EventCursor) Next(ctx context.Context) (e StoredEvent, ok bool, err error) {
	if ec.i == len(ec.buf) {
		ec.buf, ec.i = ec.buf[:0], 0
		_, err := ec.c.fetch(ctx, func(r pgx.CollectableRow) error {
			if err := r.Scan(ec.sc.targets()...); err != nil {
				return err
			}
			ec.buf = append(ec.buf, ec.sc.event())
			return nil
		})
		if err != nil {
			return e, false, fmt.Errorf("read events: %w", err)
		}
		if len(ec.buf) == 0 {
			return e, false, nil
		}
	}
	ec.i++
	return ec.buf[ec.i-1], true, nil
}

// Projection is an invocation's projection as stored, with the derived
// status column, which the known state recomputes rather than holds.
type Projection struct {
	TargetID      int64
	Known         *model.KnownInvocation
	DerivedStatus model.Status
}

// ProjectionCursor streams the stored projections by target and invoke id.
type ProjectionCursor struct {
	c   *cursor
	buf []Projection
	i   int
}

// Projections opens a cursor over every invocation's projection, ordered by
// invoke id and target (the order of Events(ByInvocation)).
func (s *Snapshot) Projections(ctx context.Context) (*ProjectionCursor, error) {
	c, err := s.declare(ctx, `SELECT i.target_id, i.derived_status, `+knownColumns+`
		FROM archive.invocations i ORDER BY i.invoke_id, i.target_id`)
	if err != nil {
		return nil, fmt.Errorf("read projections: %w", err)
	}
	return &ProjectionCursor{c: c}, nil
}

// Next returns the next projection; ok is false at the end.
func (pc *ProjectionCursor) Next(ctx context.Context) (p Projection, ok bool, err error) {
	if pc.i == len(pc.buf) {
		pc.buf, pc.i = pc.buf[:0], 0
		_, err := pc.c.fetch(ctx, func(r pgx.CollectableRow) error {
			var kr knownRow
			var p Projection
			if err := r.Scan(append([]any{&p.TargetID, &p.DerivedStatus}, kr.targets()...)...); err != nil {
				return err
			}
			k, err := kr.known()
			p.Known = k
			pc.buf = append(pc.buf, p)
			return err
		})
		if err != nil {
			return p, false, fmt.Errorf("read projections: %w", err)
		}
		if len(pc.buf) == 0 {
			return p, false, nil
		}
	}
	pc.i++
	return pc.buf[pc.i-1], true, nil
}

// EventAt returns the event at a position of a target's chain, or
// ErrNotFound.
func (s *Snapshot) EventAt(ctx context.Context, targetID, position int64) (StoredEvent, error) {
	rows, err := s.tx.Query(ctx, `SELECT `+eventColumns+` FROM archive.events WHERE target_id = $1 AND chain_position = $2`,
		targetID, position)
	if err != nil {
		return StoredEvent{}, fmt.Errorf("read event %d of target %d: %w", position, targetID, interpretError(err))
	}
	var sc eventScanner
	e, err := pgx.CollectExactlyOneRow(rows, func(r pgx.CollectableRow) (StoredEvent, error) {
		err := r.Scan(sc.targets()...)
		return sc.event(), err
	})
	if err != nil {
		return StoredEvent{}, fmt.Errorf("read event %d of target %d: %w", position, targetID, interpretError(err))
	}
	return e, nil
}
