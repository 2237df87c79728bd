package store

import (
	"context"
	"fmt"
	"time"
)

// RecordCheckpoint keeps a copy of a checkpoint document (and its signature,
// if signed) in the archive. The auditor's own copy is what proves anything;
// this one says which checkpoints were handed out.
func (s *Store) RecordCheckpoint(ctx context.Context, createdAt time.Time, document []byte, signature []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO archive.checkpoints (created_at, document, signature) VALUES ($1, $2, $3)`,
		createdAt, string(document), signature)
	if err != nil {
		return fmt.Errorf("record checkpoint: %w", interpretError(err))
	}
	return nil
}

// LastCheckpoint returns when the archive last recorded a checkpoint (zero
// when never), so a daemon writes them on its schedule across restarts.
func (s *Store) LastCheckpoint(ctx context.Context) (time.Time, error) {
	var at *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT max(created_at) FROM archive.checkpoints`).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("read last checkpoint: %w", interpretError(err))
	}
	if at == nil {
		return time.Time{}, nil
	}
	return at.UTC(), nil
}
