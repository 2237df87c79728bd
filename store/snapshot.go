package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// Snapshot is a read-only view of the archive as of one instant: every read
// through it sees the same committed state however long it takes and
// whatever is appended meanwhile, so a verification or an export never mixes
// two states of a chain. Several cursors can be read side by side.
type Snapshot struct {
	tx      pgx.Tx
	store   *Store
	cursors int
}

// ReadSnapshot runs fn in a read-only, repeatable-read transaction.
func (s *Store) ReadSnapshot(ctx context.Context, fn func(*Snapshot) error) error {
	return s.readSnapshot(ctx, "", fn)
}

// readSnapshot opens a read-only snapshot; with id, the one another
// transaction exported.
func (s *Store) readSnapshot(ctx context.Context, id string, fn func(*Snapshot) error) error {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			if id != "" {
				if _, err := tx.Exec(ctx, `SET TRANSACTION SNAPSHOT '`+id+`'`); err != nil {
					return err
				}
			}
			// Long reads sort a send or instance list at a time; in memory
			// that is several times faster than PostgreSQL's 4 MB default.
			if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '64MB'`); err != nil {
				return err
			}
			return fn(&Snapshot{tx: tx, store: s})
		})
	return interpretError(err)
}

// Beside runs fn with a second connection that sees exactly this
// snapshot, so two streams can be read side by side at full speed (a
// connection streams one query at a time).
func (s *Snapshot) Beside(ctx context.Context, fn func(*Snapshot) error) error {
	var id string
	if err := s.tx.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&id); err != nil {
		return fmt.Errorf("share the snapshot: %w", interpretError(err))
	}
	// The id is PostgreSQL's own (hex digits and dashes), never input.
	return s.store.readSnapshot(ctx, id, fn)
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

// Events streams the whole event log in the given order. It is a streaming
// cursor: read it to the end before the snapshot runs another query.
func (s *Snapshot) Events(ctx context.Context, order EventOrder) (*EventCursor, error) {
	orderBy := "target_id, chain_position"
	if order == ByInvocation {
		orderBy = "invoke_id, target_id, seq"
	}
	c, err := stream(ctx, s.tx, `SELECT `+eventColumns+` FROM archive.events ORDER BY `+orderBy)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return &EventCursor{c: c}, nil
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

// ProjectionCursor streams the stored projections by invoke id and target.
// It reads one join of invocations and their instances, a row per instance,
// and puts each invocation back together.
type ProjectionCursor struct {
	c    *cursor
	buf  []projectionRow
	i    int
	next *Projection // the invocation being assembled
}

type projectionRow struct {
	p        Projection
	instance *instanceRow // nil for an invocation without instances
}

// Projections streams every invocation's projection, ordered by invoke id and
// target (the order of Events(ByInvocation)). It is a streaming cursor (see
// Events): read it on a connection of its own (Beside).
func (s *Snapshot) Projections(ctx context.Context) (*ProjectionCursor, error) {
	c, err := stream(ctx, s.tx, `SELECT i.target_id, i.derived_status, `+invocationColumns+`, '[]'::jsonb,
			x.instance_id, x.status, x.status_since, x.last_occurred_at, x.creation_time, x.start_time, x.finish_time,
			x.error_code, x.error_info, x.stop_time, x.repeats, x.exit_code, x.dropped, coalesce(x.output_sha256, '')
		FROM archive.invocations i
		LEFT JOIN archive.instances x ON x.invoke_id = i.invoke_id AND x.target_id = i.target_id
		ORDER BY i.invoke_id, i.target_id, x.instance_id`)
	if err != nil {
		return nil, fmt.Errorf("read projections: %w", err)
	}
	return &ProjectionCursor{c: c}, nil
}

// Next returns the next projection; ok is false at the end.
func (pc *ProjectionCursor) Next(ctx context.Context) (p Projection, ok bool, err error) {
	for {
		if pc.i == len(pc.buf) {
			if err := pc.fetch(ctx); err != nil {
				return p, false, err
			}
			if len(pc.buf) == 0 {
				if pc.next == nil {
					return p, false, nil
				}
				p, pc.next = *pc.next, nil
				return p, true, nil
			}
		}
		r := &pc.buf[pc.i]
		if pc.next != nil && (pc.next.TargetID != r.p.TargetID || pc.next.Known.InvokeID != r.p.Known.InvokeID) {
			p, pc.next = *pc.next, nil
			return p, true, nil
		}
		pc.i++
		if pc.next == nil {
			next := r.p
			pc.next = &next
		}
		if r.instance != nil {
			in := r.instance.in
			pc.next.Known.Instances[r.instance.instanceID] = &in
		}
	}
}

func (pc *ProjectionCursor) fetch(ctx context.Context) error {
	pc.buf, pc.i = pc.buf[:0], 0
	_, err := pc.c.fetch(ctx, func(r pgx.CollectableRow) error {
		var kr knownRow
		var row projectionRow
		var id, status *string
		var since, last *time.Time
		var x instanceRow
		d := &x.in.Details
		var code, info *string
		targets := append([]any{&row.p.TargetID, &row.p.DerivedStatus}, kr.targets()...)
		targets = append(targets, &id, &status, &since, &last, &d.CreationTime, &d.StartTime, &d.FinishTime, &code, &info,
			&d.StopTime, &d.Repeats, &d.ExitCode, &d.Dropped, &d.OutputSHA256)
		if err := r.Scan(targets...); err != nil {
			return err
		}
		k, err := kr.known()
		if err != nil {
			return err
		}
		row.p.Known = k
		if id != nil {
			x.instanceID, x.in.Status, x.in.LastOccurredAt = *id, model.Status(*status), last.UTC()
			if since != nil {
				x.in.StatusSince = since.UTC()
			}
			d.ErrorCode, d.ErrorInfo = *code, *info
			utcPtr(&d.CreationTime)
			utcPtr(&d.StartTime)
			utcPtr(&d.FinishTime)
			utcPtr(&d.StopTime)
			row.instance = &x
		}
		pc.buf = append(pc.buf, row)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read projections: %w", err)
	}
	return nil
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

// RunlessEvent is the first event, in chain order, that names an ingest
// run no longer on record.
type RunlessEvent struct {
	ID, TargetID, ChainPosition, RunID int64
	InvokeID                           string
	Seq                                int64
}

// EventsOfNoRun returns, for each run id that events name but
// archive.ingest_runs does not hold, the first such event. No foreign key
// guards events.run_id (migration 19: the runs of a target with events
// refuse deletion instead), so this is where one shows.
func (s *Snapshot) EventsOfNoRun(ctx context.Context) ([]RunlessEvent, error) {
	rows, err := s.tx.Query(ctx, `SELECT DISTINCT ON (e.run_id) e.id, e.target_id, e.chain_position, e.run_id, e.invoke_id, e.seq
		FROM archive.events e
		WHERE e.run_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM archive.ingest_runs r WHERE r.id = e.run_id)
		ORDER BY e.run_id, e.target_id, e.chain_position`)
	if err != nil {
		return nil, fmt.Errorf("find events of no run: %w", interpretError(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RunlessEvent, error) {
		var e RunlessEvent
		err := r.Scan(&e.ID, &e.TargetID, &e.ChainPosition, &e.RunID, &e.InvokeID, &e.Seq)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("find events of no run: %w", interpretError(err))
	}
	return out, nil
}
