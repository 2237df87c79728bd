package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// Folder replays stored events, ordered by target, invocation and sequence,
// into known states one invocation at a time, grouping the events of one
// observation (same run and recording time) the way ingest applied them. It
// holds one invocation in memory, however long the log.
type Folder struct {
	emit     func(targetID int64, k *model.KnownInvocation) error
	k        *model.KnownInvocation
	target   int64
	batch    []model.Event
	batchRun int64
	batchAt  time.Time
}

// NewFolder returns a folder that hands each invocation's final state to emit.
func NewFolder(emit func(targetID int64, k *model.KnownInvocation) error) *Folder {
	return &Folder{emit: emit}
}

// Add folds the next event.
func (f *Folder) Add(e StoredEvent) error {
	if f.k == nil || e.TargetID != f.target || e.InvokeID != f.k.InvokeID {
		if err := f.Flush(); err != nil {
			return err
		}
		f.k, f.target = model.NewKnownInvocation(e.InvokeID), e.TargetID
	} else if e.RunID != f.batchRun || !e.RecordedAt.Equal(f.batchAt) {
		if err := f.applyBatch(); err != nil {
			return err
		}
	}
	f.batchRun, f.batchAt = e.RunID, e.RecordedAt
	f.batch = append(f.batch, e.Event)
	return nil
}

func (f *Folder) applyBatch() error {
	if len(f.batch) == 0 {
		return nil
	}
	err := f.k.Apply(f.batch)
	f.batch = f.batch[:0]
	if err != nil {
		return &FoldError{TargetID: f.target, InvokeID: f.k.InvokeID, Err: err}
	}
	return nil
}

// FoldError means an invocation's events do not fold (a sequence gap, an
// undecodable detail): the log itself is damaged.
type FoldError struct {
	TargetID int64
	InvokeID string
	Err      error
}

func (e *FoldError) Error() string {
	return fmt.Sprintf("fold %s (target %d): %v", e.InvokeID, e.TargetID, e.Err)
}
func (e *FoldError) Unwrap() error { return e.Err }

// Flush finishes the invocation in progress and emits it.
func (f *Folder) Flush() error {
	if f.k == nil {
		return nil
	}
	if err := f.applyBatch(); err != nil {
		return err
	}
	k := f.k
	f.k = nil
	return f.emit(f.target, k)
}

// Fold replays a slice of stored events (see Folder).
func Fold(events []StoredEvent, fn func(targetID int64, k *model.KnownInvocation) error) error {
	f := NewFolder(fn)
	for _, e := range events {
		if err := f.Add(e); err != nil {
			return err
		}
	}
	return f.Flush()
}

// RebuildProjections discards the projections and folds them again from the
// event log in one streaming pass and one transaction. Appends wait while it
// runs (the event table is share-locked), so the rebuilt state is exactly
// the log's; memory holds one invocation and one batch of projections.
// It returns the number of invocations rebuilt.
func (s *Store) RebuildProjections(ctx context.Context) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE archive.events IN SHARE MODE`); err != nil {
			return fmt.Errorf("lock the event log: %w", interpretError(err))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM archive.instances; DELETE FROM archive.invocations;
			DELETE FROM archive.instance_intervals; DELETE FROM archive.send_intervals`); err != nil {
			return fmt.Errorf("clear projections: %w", interpretError(err))
		}
		rules, err := aggregatesByTarget(ctx, tx)
		if err != nil {
			return err
		}
		events, err := newEventCursor(ctx, tx, 1, `SELECT `+eventColumns+` FROM archive.events ORDER BY invoke_id, target_id, seq`)
		if err != nil {
			return err
		}
		// Sends come in invoke id order, their targets mixed: batch per target.
		pending := map[int64][]*model.KnownInvocation{}
		save := func(targetID int64) error {
			err := saveProjections(ctx, tx, targetID, pending[targetID], rules[targetID])
			pending[targetID] = pending[targetID][:0]
			return err
		}
		f := NewFolder(func(targetID int64, k *model.KnownInvocation) error {
			n++
			pending[targetID] = append(pending[targetID], k)
			if len(pending[targetID]) >= 500 {
				return save(targetID)
			}
			return nil
		})
		for {
			e, ok, err := events.Next(ctx)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if err := f.Add(e); err != nil {
				return fmt.Errorf("rebuild projections: %w", err)
			}
		}
		if err := f.Flush(); err != nil {
			return fmt.Errorf("rebuild projections: %w", err)
		}
		for targetID := range pending {
			if err := save(targetID); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// aggregatesByTarget returns each target's aggregate rule, for the
// intervals of the sends rebuilt (every send's whole history is folded).
func aggregatesByTarget(ctx context.Context, tx pgx.Tx) (map[int64]aggregateRule, error) {
	rows, err := tx.Query(ctx, `SELECT id, source FROM archive.targets`)
	if err != nil {
		return nil, fmt.Errorf("read targets: %w", interpretError(err))
	}
	out := map[int64]aggregateRule{}
	var id int64
	var source string
	_, err = pgx.ForEachRow(rows, []any{&id, &source}, func() error {
		out[id] = aggregateOf(source)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read targets: %w", interpretError(err))
	}
	return out, nil
}
