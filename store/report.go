package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// StatusCount is how many of a target's sends had one derived status at a
// point in time.
type StatusCount struct {
	Target Target
	Status model.Status
	Sends  int64
}

// CountByStatusAt counts every archived send by its derived aggregate status
// at valid time at, per target, from the send intervals. Sends that did not
// exist yet are not counted.
func (s *Store) CountByStatusAt(ctx context.Context, at time.Time) ([]StatusCount, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT t.id, t.account, t.region, t.source, c.status, c.sends
		FROM (SELECT s.target_id, s.status, count(*) AS sends FROM archive.send_intervals s
		      WHERE s.valid_from <= $1 AND (s.valid_to IS NULL OR s.valid_to > $1)
		      GROUP BY s.target_id, s.status) c
		JOIN archive.targets t ON t.id = c.target_id
		ORDER BY t.region, t.account, t.source, c.status`, at)
	if err != nil {
		return nil, fmt.Errorf("count sends by status: %w", interpretError(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StatusCount, error) {
		var c StatusCount
		err := r.Scan(&c.Target.ID, &c.Target.Account, &c.Target.Region, &c.Target.Source, &c.Status, &c.Sends)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("count sends by status: %w", interpretError(err))
	}
	return out, nil
}
