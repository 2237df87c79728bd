package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// Run is one ingest cycle over one target, as recorded in archive.ingest_runs.
type Run struct {
	ID            int64
	TargetID      int64
	StartedAt     time.Time
	FinishedAt    *time.Time
	Outcome       model.RunOutcome
	Error         string
	CompleteWalk  bool
	Pages         int
	Records       int
	Events        int
	APICalls      int
	Retries       int
	Expired       int
	Disagreements int
	Oversized     int
	OldestListed  *time.Time
	NewestListed  *time.Time
	// HeadWalk: the run walked the newest pages and the unfinished sends
	// only; otherwise it walked the whole listing (a reconcile).
	HeadWalk bool
	// HeadWalkMisses counts, for a reconcile, the sends it discovered that
	// the head walks before it should have listed.
	HeadWalkMisses int
}

// StartRun opens a run row.
func (s *Store) StartRun(ctx context.Context, targetID int64, startedAt time.Time) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO archive.ingest_runs (target_id, started_at) VALUES ($1, $2) RETURNING id`,
		targetID, startedAt).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("start run: %w", interpretError(err))
	}
	return id, nil
}

// FinishRun records a run's counts and outcome.
func (s *Store) FinishRun(ctx context.Context, r Run) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE archive.ingest_runs SET finished_at = $2, outcome = $3, error = nullif($4, ''), complete_walk = $5,
			pages = $6, records = $7, events = $8, api_calls = $9, retries = $10, expired = $11,
			disagreements = $12, oldest_listed = $13, newest_listed = $14, oversized = $15, head_walk = $16,
			head_walk_misses = $17
		WHERE id = $1`,
		r.ID, r.FinishedAt, r.Outcome, r.Error, r.CompleteWalk, r.Pages, r.Records, r.Events, r.APICalls,
		r.Retries, r.Expired, r.Disagreements, r.OldestListed, r.NewestListed, r.Oversized, r.HeadWalk, r.HeadWalkMisses)
	if err != nil {
		return fmt.Errorf("finish run %d: %w", r.ID, interpretError(err))
	}
	return nil
}

// Runs lists the runs of every target, oldest first.
func (s *Store) Runs(ctx context.Context) ([]Run, error) { return runs(ctx, s.pool) }

func runs(ctx context.Context, db DBTX) ([]Run, error) {
	rows, err := db.Query(ctx, `
		SELECT id, target_id, started_at, finished_at, outcome, coalesce(error, '') AS error, complete_walk, pages,
		       records, events, api_calls, retries, expired, disagreements, oldest_listed, newest_listed, oversized,
		       head_walk, head_walk_misses
		FROM archive.ingest_runs ORDER BY target_id, started_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", interpretError(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[Run])
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", interpretError(err))
	}
	return out, nil
}
