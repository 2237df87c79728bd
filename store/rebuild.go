package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// Fold replays stored events (ordered by target, invocation, sequence) into
// known states, grouping the events of one observation (same invocation, run
// and recording time) the way ingest applied them. fn receives each
// invocation's final state.
func Fold(events []StoredEvent, fn func(targetID int64, k *model.KnownInvocation) error) error {
	var k *model.KnownInvocation
	var target int64
	var batch []model.Event
	var batchRun int64
	var batchAt time.Time
	flushBatch := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := k.Apply(batch)
		batch = batch[:0]
		return err
	}
	flush := func() error {
		if k == nil {
			return nil
		}
		if err := flushBatch(); err != nil {
			return err
		}
		return fn(target, k)
	}
	for _, e := range events {
		if k == nil || e.TargetID != target || e.InvokeID != k.InvokeID {
			if err := flush(); err != nil {
				return err
			}
			k, target = model.NewKnownInvocation(e.InvokeID), e.TargetID
		} else if e.RunID != batchRun || !e.RecordedAt.Equal(batchAt) {
			if err := flushBatch(); err != nil {
				return err
			}
		}
		batchRun, batchAt = e.RunID, e.RecordedAt
		batch = append(batch, e.Event)
	}
	return flush()
}

// RebuildProjections discards the projections and folds them again from the
// event log, in one transaction.
func (s *Store) RebuildProjections(ctx context.Context) error {
	var all []StoredEvent
	if err := s.ScanEvents(ctx, ByInvocation, func(e StoredEvent) error {
		all = append(all, e)
		return nil
	}); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM archive.instances; DELETE FROM archive.invocations`); err != nil {
			return fmt.Errorf("clear projections: %w", interpretError(err))
		}
		pending := map[int64][]*model.KnownInvocation{}
		if err := Fold(all, func(targetID int64, k *model.KnownInvocation) error {
			pending[targetID] = append(pending[targetID], k)
			if len(pending[targetID]) >= 500 {
				err := saveProjections(ctx, tx, targetID, pending[targetID])
				pending[targetID] = nil
				return err
			}
			return nil
		}); err != nil {
			return fmt.Errorf("rebuild projections: %w", err)
		}
		for targetID, ks := range pending {
			if err := saveProjections(ctx, tx, targetID, ks); err != nil {
				return err
			}
		}
		return nil
	})
}
