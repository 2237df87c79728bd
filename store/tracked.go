package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cloudassistant/sendfile-archive/model"
)

// TrackedState is where a tracked task stands (archive.tracked.state).
type TrackedState string

// Tracked task states. Polling and confirming tasks are polled every cycle;
// the others are finished.
const (
	TrackedPolling    TrackedState = "polling"
	TrackedConfirming TrackedState = "confirming" // the last poll saw a final status; the next confirms it
	TrackedDone       TrackedState = "done"
	TrackedNotFound   TrackedState = "not_found" // the source never knew the id
	TrackedExpired    TrackedState = "expired"   // seen, then no longer served
)

// Finished reports whether a task in this state is no longer polled.
func (s TrackedState) Finished() bool {
	return s == TrackedDone || s == TrackedNotFound || s == TrackedExpired
}

// TrackedTask is one row of archive.tracked: a task of a source that cannot
// be listed, and how its polling stands.
type TrackedTask struct {
	TargetID     int64
	InvokeID     string
	RegisteredAt time.Time
	State        TrackedState
	Polls        int // answered polls
	Misses       int // consecutive answers without the task, before it was found
	FoundAt      *time.Time
	LastPolledAt *time.Time
	LastStatus   model.Status // the overall status the last poll that found it reported
	FinishedAt   *time.Time
}

// ErrTrackRefused means a task cannot be tracked as asked: the source is
// listed rather than tracked, the id or region is empty, or several
// accounts archive the region and source and none was named. The error's
// message says which.
var ErrTrackRefused = errors.New("cannot track the task")

// TrackResult is what registering a task did.
type TrackResult struct {
	Target  Target
	State   TrackedState
	Created bool // false: it was tracked already, and nothing changed
}

// Track registers a task of a tracked source for polling, through
// archive.track, which automation calls too. An empty account picks the
// only target of that region and source, else the unnamed target that the
// first account to archive them adopts (see EnsureTarget).
func (s *Store) Track(ctx context.Context, account, region string, src model.SourceID, invokeID string) (TrackResult, error) {
	r := TrackResult{Target: Target{Region: region, Source: src}}
	err := s.pool.QueryRow(ctx, `SELECT target_id, account, created, state FROM archive.track($1, $2, $3, $4)`,
		account, region, src, invokeID).Scan(&r.Target.ID, &r.Target.Account, &r.Created, &r.State)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == pgerrcode.InvalidParameterValue {
		return TrackResult{}, fmt.Errorf("%w: %s", ErrTrackRefused, pgErr.Message)
	}
	if err != nil {
		return TrackResult{}, fmt.Errorf("track %s in %s: %w", invokeID, r.Target, interpretError(err))
	}
	return r, nil
}

const trackedColumns = `target_id, invoke_id, registered_at, state, polls, misses, found_at, last_polled_at,
	coalesce(last_status, '') AS last_status, finished_at`

// TrackedToPoll lists the target's tasks still to poll, oldest
// registration first.
func (s *Store) TrackedToPoll(ctx context.Context, targetID int64) ([]TrackedTask, error) {
	return s.trackedWhere(ctx, `target_id = $1 AND state IN ('polling', 'confirming')`, targetID)
}

// TrackedTasks lists every tracked task of the target, finished ones too.
func (s *Store) TrackedTasks(ctx context.Context, targetID int64) ([]TrackedTask, error) {
	return s.trackedWhere(ctx, `target_id = $1`, targetID)
}

func (s *Store) trackedWhere(ctx context.Context, where string, targetID int64) ([]TrackedTask, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+trackedColumns+` FROM archive.tracked WHERE `+where+
		` ORDER BY registered_at, invoke_id`, targetID)
	if err != nil {
		return nil, fmt.Errorf("list tracked tasks of target %d: %w", targetID, interpretError(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[TrackedTask])
	if err != nil {
		return nil, fmt.Errorf("list tracked tasks of target %d: %w", targetID, interpretError(err))
	}
	return out, nil
}

// RecordPoll stores where a task stands after a poll. Only the polling
// fields change; the registration stays as it was.
func (s *Store) RecordPoll(ctx context.Context, t TrackedTask) error {
	tag, err := s.pool.Exec(ctx, `UPDATE archive.tracked SET state = $3, polls = $4, misses = $5, found_at = $6,
			last_polled_at = $7, last_status = nullif($8, ''), finished_at = $9
		WHERE target_id = $1 AND invoke_id = $2`,
		t.TargetID, t.InvokeID, t.State, t.Polls, t.Misses, t.FoundAt, t.LastPolledAt, t.LastStatus, t.FinishedAt)
	if err != nil {
		return fmt.Errorf("record poll of %s: %w", t.InvokeID, interpretError(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("record poll of %s: %w", t.InvokeID, ErrNotFound)
	}
	return nil
}
