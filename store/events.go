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
	ID         int64
	TargetID   int64
	RunID      int64 // 0 when the event was not written by an ingest run
	RecordedAt time.Time
	PrevHash   []byte
	Hash       []byte
}

// ChainFields returns the hashed fields of a stored event. Detail and payload
// are hashed as jsonb prints them (see Page.Append), so nothing is re-encoded.
func (e StoredEvent) ChainFields() ChainFields {
	return ChainFields{
		TargetID: e.TargetID, InvokeID: e.InvokeID, InstanceID: e.InstanceID, Seq: e.Seq, Type: e.Type,
		FromStatus: e.FromStatus, ToStatus: e.ToStatus, OccurredAt: e.OccurredAt, RecordedAt: e.RecordedAt,
		Evidence: e.Evidence, RunID: e.RunID, Detail: e.Detail, Payload: e.Payload,
	}
}

const eventColumns = `id, target_id, invoke_id, coalesce(instance_id, ''), seq, type, coalesce(from_status, ''),
	coalesce(to_status, ''), occurred_at, recorded_at, evidence, coalesce(run_id, 0), detail::text, payload::text,
	prev_hash, hash`

func scanEvent(rows pgx.Rows) (StoredEvent, error) {
	var e StoredEvent
	var detail *string
	var payload string
	err := rows.Scan(&e.ID, &e.TargetID, &e.InvokeID, &e.InstanceID, &e.Seq, &e.Type, &e.FromStatus, &e.ToStatus,
		&e.OccurredAt, &e.RecordedAt, &e.Evidence, &e.RunID, &detail, &payload, &e.PrevHash, &e.Hash)
	if err != nil {
		return e, interpretError(err)
	}
	e.OccurredAt = e.OccurredAt.UTC()
	e.RecordedAt = e.RecordedAt.UTC()
	if detail != nil {
		e.Detail = []byte(*detail)
	}
	e.Payload = []byte(payload)
	return e, nil
}

// InvocationEvents returns every event of an invocation (in any target) that
// was recorded at or before knownAt (nil: all), in target and sequence order.
func (s *Store) InvocationEvents(ctx context.Context, invokeID string, knownAt *time.Time) ([]StoredEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM archive.events
		WHERE invoke_id = $1 AND ($2::timestamptz IS NULL OR recorded_at <= $2)
		ORDER BY target_id, seq`, invokeID, knownAt)
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", invokeID, interpretError(err))
	}
	defer rows.Close()
	var out []StoredEvent
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("read events of %s: %w", invokeID, err)
		}
		out = append(out, e)
	}
	return out, interpretError(rows.Err())
}

// EventOrder selects how ScanEvents orders the log.
type EventOrder int

const (
	// ByChain orders by target, then recording order: the hash chain's order.
	ByChain EventOrder = iota
	// ByInvocation orders by target, invocation, then sequence: the fold order.
	ByInvocation
)

// ScanEvents streams the whole event log to fn without holding it in memory.
func (s *Store) ScanEvents(ctx context.Context, order EventOrder, fn func(StoredEvent) error) error {
	orderBy := "target_id, id"
	if order == ByInvocation {
		orderBy = "target_id, invoke_id, seq"
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM archive.events ORDER BY `+orderBy)
	if err != nil {
		return fmt.Errorf("scan events: %w", interpretError(err))
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return fmt.Errorf("scan events: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return interpretError(rows.Err())
}

// ChainHead is the head a target's row says its chain has.
type ChainHead struct {
	Target Target
	Head   []byte
	Length int64
}

// ChainHeads returns every target's recorded chain head.
func (s *Store) ChainHeads(ctx context.Context) ([]ChainHead, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, account, region, source, chain_head, chain_length FROM archive.targets ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read chain heads: %w", interpretError(err))
	}
	defer rows.Close()
	var out []ChainHead
	for rows.Next() {
		var h ChainHead
		if err := rows.Scan(&h.Target.ID, &h.Target.Account, &h.Target.Region, &h.Target.Source, &h.Head, &h.Length); err != nil {
			return nil, fmt.Errorf("read chain heads: %w", interpretError(err))
		}
		out = append(out, h)
	}
	return out, interpretError(rows.Err())
}

// KnownInvocations returns the projections of the target's invocations that
// have not been marked expired: the candidates for expiry after a full walk.
func (s *Store) KnownInvocations(ctx context.Context, targetID int64) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT invoke_id FROM archive.invocations
		WHERE target_id = $1 AND expired_at IS NULL ORDER BY invoke_id`, targetID)
	if err != nil {
		return nil, fmt.Errorf("list live invocations: %w", interpretError(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list live invocations: %w", interpretError(err))
		}
		out = append(out, id)
	}
	return out, interpretError(rows.Err())
}
