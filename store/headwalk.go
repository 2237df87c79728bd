package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// WalkHistory is what a cycle needs to choose between a head walk and a
// full one (DESIGN.md §12).
type WalkHistory struct {
	// LastReconcile is when the last successful full walk started (nil:
	// none yet).
	LastReconcile *time.Time
	// LastHeadWalk is when the last successful head walk since then
	// started (nil: none).
	LastHeadWalk *time.Time
	// FullWalksSince is set once a reconcile found what head walks had
	// missed: the target is walked in full from then on.
	FullWalksSince *time.Time
}

// WalkHistory reads a target's walk history.
func (s *Store) WalkHistory(ctx context.Context, targetID int64) (WalkHistory, error) {
	var h WalkHistory
	err := s.pool.QueryRow(ctx, `
		WITH reconcile AS (
			SELECT max(started_at) AS at FROM archive.ingest_runs
			WHERE target_id = $1 AND outcome = 'ok' AND complete_walk AND NOT head_walk)
		SELECT (SELECT at FROM reconcile),
		       (SELECT max(started_at) FROM archive.ingest_runs, reconcile
		        WHERE target_id = $1 AND outcome = 'ok' AND complete_walk AND head_walk AND started_at > reconcile.at),
		       (SELECT full_walks_since FROM archive.targets WHERE id = $1)`, targetID).
		Scan(&h.LastReconcile, &h.LastHeadWalk, &h.FullWalksSince)
	if err != nil {
		return h, fmt.Errorf("read walk history: %w", interpretError(err))
	}
	return h, nil
}

// Unfinished is a live send whose status, as the source last reported it,
// is not final.
type Unfinished struct {
	InvokeID       string
	ReportedStatus model.Status
}

// UnfinishedInvocations lists a target's live sends whose reported or
// derived status is not final by the source's rule, in invoke id order.
func (s *Store) UnfinishedInvocations(ctx context.Context, targetID int64, final func(model.Status) bool) ([]Unfinished, error) {
	rows, err := s.pool.Query(ctx, `SELECT invoke_id, reported_status, derived_status FROM archive.invocations
		WHERE target_id = $1 AND expired_at IS NULL ORDER BY invoke_id`, targetID)
	if err != nil {
		return nil, fmt.Errorf("list unfinished invocations: %w", interpretError(err))
	}
	var out []Unfinished
	var id string
	var reported, derived model.Status
	_, err = pgx.ForEachRow(rows, []any{&id, &reported, &derived}, func() error {
		if !final(reported) || !final(derived) {
			out = append(out, Unfinished{InvokeID: id, ReportedStatus: reported})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list unfinished invocations: %w", interpretError(err))
	}
	return out, nil
}

// HeadWalkMisses lists the sends a run discovered that were created before
// `before` (the start of the last head walk): a head walk running then
// should have listed them.
func (s *Store) HeadWalkMisses(ctx context.Context, runID int64, before time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT e.invoke_id FROM archive.events e
		JOIN archive.invocations i ON i.target_id = e.target_id AND i.invoke_id = e.invoke_id
		WHERE e.run_id = $1 AND e.type = $2 AND i.creation_time < $3 ORDER BY i.creation_time, e.invoke_id`,
		runID, model.EventInvocationDiscovered, before)
	if err != nil {
		return nil, fmt.Errorf("check head walk misses: %w", interpretError(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("check head walk misses: %w", interpretError(err))
	}
	return ids, nil
}

// FallBackToFullWalks records that a target is walked in full from at on.
func (s *Store) FallBackToFullWalks(ctx context.Context, targetID int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE archive.targets SET full_walks_since = coalesce(full_walks_since, $2)
		WHERE id = $1`, targetID, at)
	if err == nil && tag.RowsAffected() == 0 {
		err = errors.New("no such target")
	}
	if err != nil {
		return fmt.Errorf("fall back to full walks: %w", interpretError(err))
	}
	return nil
}
