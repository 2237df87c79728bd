package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrChainMoved is the error of an overlapped page whose chain did not end
// where the page was chained after when it came to commit: the page before
// it failed, or another writer appended to the target.
var ErrChainMoved = errors.New("the chain moved while the page was written")

// ChainTail is where a target's chain ends: the hash of its last event, its
// length, and the recording time of the page that left it there.
type ChainTail struct {
	Head       []byte
	Length     int64
	RecordedAt time.Time
}

// PageOrder places an overlapped page (WithPageAfter) on its target's chain.
type PageOrder struct {
	TargetID, RunID int64
	// After is where the page before this one leaves the chain; nil when no
	// page is in flight, and the page starts where the chain stands.
	After *ChainTail
	// Prev waits for the page before this one to end and returns its error;
	// nil when there is none in flight.
	Prev func(context.Context) error
	// Tail is told where this page leaves the chain as soon as its events
	// are hashed, before they are written: the next page can start then.
	// It is called exactly once unless the transaction fails first.
	Tail func(ChainTail)
}

// WithPageAfter is WithPage for a page written while the page before it
// (o.After, o.Prev) is still being written, so that the database works on
// both at once. Its events are hashed after o.After, and they and the
// projections are written without the chain lock. Then the page waits for
// the previous one to end, and only if it committed, takes the lock, checks
// that the chain ends at o.After (ErrChainMoved otherwise), advances it and
// commits. Pages therefore commit one at a time and in order, and the log is
// the one WithPage would have written page by page. The two pages must not
// share a send (their rows would lock each other).
func (s *Store) WithPageAfter(ctx context.Context, o PageOrder, fn func(p *Page) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		p := &Page{tx: tx, targetID: o.TargetID, runID: o.RunID, order: &o}
		if err := p.startAfter(ctx); err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		p.publishTail()
		if err := p.send(ctx, p.projectionBatch); err != nil {
			return err
		}
		if o.Prev != nil {
			if err := o.Prev(ctx); err != nil {
				return fmt.Errorf("%w: the page before it failed: %w", ErrChainMoved, err)
			}
		}
		return p.send(ctx, p.endBatch)
	})
}

// startAfter reads the page's recording time, and where the chain stands
// when no page is in flight. The time is never earlier than the previous
// page's, though its transaction may have read the clock an instant later
// than this one.
func (p *Page) startAfter(ctx context.Context) error {
	o := p.order
	if o.After != nil {
		if err := p.tx.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&p.recordedAt); err != nil {
			return fmt.Errorf("start a page of target %d: %w", o.TargetID, interpretError(err))
		}
		p.start = *o.After
	} else {
		err := p.tx.QueryRow(ctx, `SELECT chain_head, chain_length, clock_timestamp() FROM archive.targets WHERE id = $1`,
			o.TargetID).Scan(&p.start.Head, &p.start.Length, &p.recordedAt)
		if err != nil {
			return fmt.Errorf("read the chain of target %d: %w", o.TargetID, interpretError(err))
		}
	}
	p.recordedAt = p.recordedAt.UTC().Truncate(time.Microsecond)
	if p.recordedAt.Before(p.start.RecordedAt) {
		p.recordedAt = p.start.RecordedAt
	}
	p.head, p.length = p.start.Head, p.start.Length
	return nil
}

// publishTail tells the page's order where the page leaves the chain, once.
func (p *Page) publishTail() {
	if p.order == nil || p.published {
		return
	}
	p.published = true
	if p.order.Tail != nil {
		p.order.Tail(ChainTail{Head: p.head, Length: p.length, RecordedAt: p.recordedAt})
	}
}

// appendHashed is AppendRendered for an overlapped page: it hashes every
// event first and tells the page's order where the page leaves the chain,
// so the next page can start while these rows are written.
func (p *Page) appendHashed(ctx context.Context, events []Rendered) error {
	if p.published {
		return fmt.Errorf("append to target %d: an overlapped page appends its events once", p.targetID)
	}
	rows := make([][]any, len(events))
	for i := range events {
		row, hash := p.eventRow(&events[i], p.head, p.length+1)
		rows[i] = row
		p.head, p.length = hash, p.length+1
	}
	p.publishTail()
	n, err := p.tx.CopyFrom(ctx, pgx.Identifier{"archive", "events"}, eventCopyColumns, pgx.CopyFromRows(rows))
	if err = interpretError(err); errors.Is(err, ErrConflict) {
		// Positions or sequence numbers past the start are taken: another
		// writer appended since.
		return fmt.Errorf("append %d events after position %d: %w: %w", len(events), p.start.Length, ErrChainMoved, err)
	}
	if err != nil {
		return fmt.Errorf("append %d events: %w", len(events), err)
	}
	if int(n) != len(events) {
		return fmt.Errorf("append events: wrote %d of %d", n, len(events))
	}
	p.appended += len(events)
	return nil
}
