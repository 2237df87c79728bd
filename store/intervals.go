package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// saveIntervals turns the instance changes the fold recorded (k.Changes)
// into validity intervals: the open interval of a changed instance is closed
// where its first change starts, each change opens an interval that the
// next one closes, and the sends' intervals are recomputed from their
// instances'. It clears k.Changes.
func saveIntervals(ctx context.Context, db DBTX, targetID int64, known []*model.KnownInvocation) error {
	batch := &pgx.Batch{}
	var ids []string
	for _, k := range known {
		if len(k.Changes) == 0 {
			continue
		}
		ids = append(ids, k.InvokeID)
		for _, run := range changeRuns(k.Changes) {
			queueInstanceIntervals(batch, targetID, k.InvokeID, run)
		}
		k.Changes = nil
	}
	if len(ids) == 0 {
		return nil
	}
	batch.Queue(`SELECT archive.refresh_send_intervals($1, $2)`, targetID, ids)
	if err := db.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("save status intervals of %d sends: %w", len(ids), interpretError(err))
	}
	return nil
}

// changeRuns groups changes by instance, in order, keeping the last change
// of each instant (the state at an instant is the one after all its events).
func changeRuns(changes []model.InstanceChange) [][]model.InstanceChange {
	byInstance := map[string]int{}
	var runs [][]model.InstanceChange
	for _, c := range changes {
		i, ok := byInstance[c.InstanceID]
		if !ok {
			i = len(runs)
			byInstance[c.InstanceID] = i
			runs = append(runs, nil)
		}
		r := runs[i]
		if n := len(r); n > 0 && r[n-1].At.Equal(c.At) {
			r[n-1] = c
		} else {
			r = append(r, c)
		}
		runs[i] = r
	}
	return runs
}

// queueInstanceIntervals queues one instance's new intervals. Closing the
// open interval at the first change and upserting by start makes a change
// at the very instant the open interval began replace it.
func queueInstanceIntervals(b *pgx.Batch, targetID int64, invokeID string, run []model.InstanceChange) {
	id := sanitizeText(run[0].InstanceID)
	b.Queue(`UPDATE archive.instance_intervals SET valid_to = $4
		WHERE invoke_id = $1 AND target_id = $2 AND instance_id = $3 AND valid_to IS NULL`, invokeID, targetID, id, run[0].At)
	for i, c := range run {
		var to *time.Time
		if i+1 < len(run) {
			to = &run[i+1].At
		}
		s := c.State
		b.Queue(`INSERT INTO archive.instance_intervals (invoke_id, target_id, instance_id, valid_from, valid_to, status,
				status_since, error_code, error_info) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (invoke_id, target_id, instance_id, valid_from) DO UPDATE SET valid_to = EXCLUDED.valid_to,
				status = EXCLUDED.status, status_since = EXCLUDED.status_since, error_code = EXCLUDED.error_code,
				error_info = EXCLUDED.error_info`,
			invokeID, targetID, id, c.At, to, sanitizeText(string(s.Status)), s.Since, sanitizeText(s.ErrorCode),
			sanitizeText(s.ErrorInfo))
	}
}
