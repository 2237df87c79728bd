package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// StoredEvent is an event as the archive holds it.
type StoredEvent struct {
	model.Event
	ID            int64
	TargetID      int64
	ChainPosition int64 // 1-based position in the target's chain
	RunID         int64 // 0 when the event was not written by an ingest run
	RecordedAt    time.Time
	PrevHash      []byte
	Hash          []byte
}

// ChainFields returns the hashed fields of a stored event. Detail and payload
// are hashed as jsonb prints them (see Page.Append), so nothing is re-encoded.
func (e StoredEvent) ChainFields() ChainFields {
	return ChainFields{
		TargetID: e.TargetID, InvokeID: e.InvokeID, InstanceID: e.InstanceID, Seq: e.Seq, Type: string(e.Type),
		FromStatus: string(e.FromStatus), ToStatus: string(e.ToStatus), OccurredAt: e.OccurredAt,
		RecordedAt: e.RecordedAt, Evidence: string(e.Evidence), RunID: e.RunID, Detail: e.Detail, Payload: e.Payload,
	}
}

const eventColumns = `id, target_id, chain_position, invoke_id, coalesce(instance_id, ''), seq, type, coalesce(from_status, ''),
	coalesce(to_status, ''), occurred_at, recorded_at, evidence, coalesce(run_id, 0), detail::text, payload::text,
	prev_hash, hash`

// eventScanner reuses its scan targets across rows, which matters when a
// verification streams millions of them.
type eventScanner struct {
	e StoredEvent
}

func (s *eventScanner) targets() []any {
	e := &s.e
	return []any{&e.ID, &e.TargetID, &e.ChainPosition, &e.InvokeID, &e.InstanceID, &e.Seq, &e.Type, &e.FromStatus, &e.ToStatus,
		&e.OccurredAt, &e.RecordedAt, &e.Evidence, &e.RunID, (*[]byte)(&e.Detail), (*[]byte)(&e.Payload), &e.PrevHash, &e.Hash}
}

// event returns the row just scanned. pgx gives every scanned slice fresh
// memory, so the event shares nothing with the next row.
func (s *eventScanner) event() StoredEvent {
	e := s.e
	e.OccurredAt = e.OccurredAt.UTC()
	e.RecordedAt = e.RecordedAt.UTC()
	return e
}

// InvocationEvents returns every event of an invocation in one target that
// was recorded at or before knownAt (nil: all), in sequence order.
func (s *Store) InvocationEvents(ctx context.Context, targetID int64, invokeID string, knownAt *time.Time) ([]StoredEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM archive.events
		WHERE target_id = $1 AND invoke_id = $2 AND ($3::timestamptz IS NULL OR recorded_at <= $3)
		ORDER BY seq`, targetID, invokeID, knownAt)
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", invokeID, interpretError(err))
	}
	var sc eventScanner
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StoredEvent, error) {
		err := r.Scan(sc.targets()...)
		return sc.event(), err
	})
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", invokeID, interpretError(err))
	}
	return out, nil
}

// EventOrder selects how ScanEvents orders the log.
type EventOrder int

const (
	// ByChain orders by target, then chain position: the hash chain's order.
	ByChain EventOrder = iota
	// ByInvocation orders by invocation, target, then sequence: the fold
	// order, the order of the (invoke_id, target_id, seq) index.
	ByInvocation
)

// ScanEvents streams the whole event log to fn without holding it in memory.
func (s *Store) ScanEvents(ctx context.Context, order EventOrder, fn func(StoredEvent) error) error {
	orderBy := "target_id, chain_position"
	if order == ByInvocation {
		orderBy = "invoke_id, target_id, seq"
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM archive.events ORDER BY `+orderBy)
	if err != nil {
		return fmt.Errorf("scan events: %w", interpretError(err))
	}
	var sc eventScanner
	var fnErr error
	_, err = pgx.ForEachRow(rows, sc.targets(), func() error {
		fnErr = fn(sc.event())
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("scan events: %w", interpretError(err))
	}
	return nil
}

// ChainHead is the head a target's row says its chain has.
type ChainHead struct {
	Target Target
	Head   []byte
	Length int64
}

// ChainHeads returns every target's recorded chain head.
func (s *Store) ChainHeads(ctx context.Context) ([]ChainHead, error) { return chainHeads(ctx, s.pool) }

func chainHeads(ctx context.Context, db DBTX) ([]ChainHead, error) {
	return chainHeadsWhere(ctx, db, "true")
}

// chainHeadsWhere returns the chain heads of the targets (aliased t) where
// holds, in id order.
func chainHeadsWhere(ctx context.Context, db DBTX, where string, args ...any) ([]ChainHead, error) {
	rows, err := db.Query(ctx, `SELECT t.id, t.account, t.region, t.source, t.chain_head, t.chain_length
		FROM archive.targets t WHERE `+where+` ORDER BY t.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read chain heads: %w", interpretError(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChainHead, error) {
		var h ChainHead
		err := r.Scan(&h.Target.ID, &h.Target.Account, &h.Target.Region, &h.Target.Source, &h.Head, &h.Length)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("read chain heads: %w", interpretError(err))
	}
	return out, nil
}

// LiveInvocations returns the ids of the target's invocations that have not
// been marked expired: the candidates for expiry after a full walk.
func (s *Store) LiveInvocations(ctx context.Context, targetID int64) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT invoke_id FROM archive.invocations
		WHERE target_id = $1 AND expired_at IS NULL ORDER BY invoke_id`, targetID)
	if err != nil {
		return nil, fmt.Errorf("list live invocations: %w", interpretError(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list live invocations: %w", interpretError(err))
	}
	return out, nil
}

// FirstRecorded says where the archive holds an invocation: the target
// whose chain first recorded it (an invoke id names one send; should two
// targets ever hold the same id, the one archived earliest answers), and
// when it was first recorded there. It returns ErrNotFound when no target
// holds it at all.
func (s *Store) FirstRecorded(ctx context.Context, invokeID string) (Target, time.Time, error) {
	var t Target
	var at time.Time
	err := s.pool.QueryRow(ctx, `SELECT t.id, t.account, t.region, t.source, e.recorded_at
		FROM archive.events e JOIN archive.targets t ON t.id = e.target_id
		WHERE e.invoke_id = $1 ORDER BY e.recorded_at, e.id LIMIT 1`, invokeID).
		Scan(&t.ID, &t.Account, &t.Region, &t.Source, &at)
	if err != nil {
		return Target{}, time.Time{}, fmt.Errorf("invocation %s: %w", invokeID, interpretError(err))
	}
	return t, at.UTC(), nil
}
