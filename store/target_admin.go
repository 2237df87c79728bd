package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// ErrTargetHasEvents refuses to remove a target that archived something:
// its events are the archive, so it can only be retired.
var ErrTargetHasEvents = errors.New("the target has archived events")

// TargetKey names a target the way an operator does: by account, region
// and source.
type TargetKey struct {
	Account, Region string
	Source          model.SourceID
}

func (k TargetKey) String() string {
	return Target{Account: k.Account, Region: k.Region, Source: k.Source}.String()
}

// TargetSummary is one target as `archiver targets` lists it.
type TargetSummary struct {
	Target
	Events      int64      // the length of its chain
	Runs        int64      // ingest cycles recorded
	LastSuccess *time.Time // when its last successful cycle finished
	RetiredAt   *time.Time
}

// TargetSummaries lists every target with its events, runs, last success
// and retirement, in id order.
func (s *Store) TargetSummaries(ctx context.Context) ([]TargetSummary, error) {
	rows, err := s.pool.Query(ctx, `SELECT t.id, t.account, t.region, t.source, t.chain_length, t.retired_at,
			count(r.id), max(r.finished_at) FILTER (WHERE r.outcome = $1)
		FROM archive.targets t LEFT JOIN archive.ingest_runs r ON r.target_id = t.id
		GROUP BY t.id ORDER BY t.id`, model.RunOK)
	if err != nil {
		return nil, fmt.Errorf("list targets: %w", interpretError(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TargetSummary, error) {
		var t TargetSummary
		err := r.Scan(&t.ID, &t.Account, &t.Region, &t.Source, &t.Events, &t.RetiredAt, &t.Runs, &t.LastSuccess)
		t.Retired = t.RetiredAt != nil
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("list targets: %w", interpretError(err))
	}
	return out, nil
}

// RetireTarget stops walking a target (retire) or starts again (!retire).
// Its events stay. ErrNotFound when there is no such target.
func (s *Store) RetireTarget(ctx context.Context, k TargetKey, retire bool) error {
	tag, err := s.pool.Exec(ctx, `UPDATE archive.targets
		SET retired_at = CASE WHEN $4 THEN coalesce(retired_at, now()) END
		WHERE account = $1 AND region = $2 AND source = $3`, k.Account, k.Region, k.Source, retire)
	if err != nil {
		return fmt.Errorf("retire %s: %w", k, interpretError(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("retire %s: %w", k, ErrNotFound)
	}
	return nil
}

// RemoveTarget deletes a target that never archived an event, with its
// ingest runs (the record of walks that found nothing). A target with
// events is refused (ErrTargetHasEvents): retire it instead. The row is
// locked first, so a cycle appending at the same moment either commits
// before (and the removal is refused) or waits and then finds no target.
func (s *Store) RemoveTarget(ctx context.Context, k TargetKey) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var id, length int64
		err := tx.QueryRow(ctx, `SELECT id, chain_length FROM archive.targets
			WHERE account = $1 AND region = $2 AND source = $3 FOR UPDATE`, k.Account, k.Region, k.Source).Scan(&id, &length)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var events bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM archive.events WHERE target_id = $1)`, id).Scan(&events); err != nil {
			return err
		}
		if length > 0 || events {
			return fmt.Errorf("%w (%d): retire it instead", ErrTargetHasEvents, length)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM archive.ingest_runs WHERE target_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM archive.targets WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("remove %s: %w", k, interpretError(err))
	}
	return nil
}
