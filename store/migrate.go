package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/cloudassistant/sendfile-archive/migrations"
)

// ErrWouldDestroy means a rollback would drop archived history; see
// migrations.Down.
var ErrWouldDestroy = migrations.ErrWouldDestroy

// Migration is one migration's outcome or state.
type Migration struct {
	Path      string
	Duration  time.Duration // of the run that applied or rolled it back
	AppliedAt *time.Time    // nil while pending (MigrationStatus only)
}

// MigrateUp applies every pending migration.
func (s *Store) MigrateUp(ctx context.Context) ([]Migration, error) {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	res, err := migrations.Up(ctx, db)
	if err != nil {
		return nil, s.migrationError(ctx, err)
	}
	out := make([]Migration, 0, len(res))
	rebuild := false
	for _, r := range res {
		out = append(out, Migration{Path: r.Source.Path, Duration: r.Duration})
		rebuild = rebuild || slices.Contains(migrations.RebuildAfter, r.Source.Version)
	}
	if rebuild {
		started := time.Now()
		n, err := s.RebuildProjections(ctx)
		if err != nil {
			return out, fmt.Errorf("fold the new projections from the event log: %w", err)
		}
		if n > 0 {
			out = append(out, Migration{Path: fmt.Sprintf("(rebuilt the projections of %d sends from the event log)", n),
				Duration: time.Since(started)})
		}
	}
	return out, nil
}

// MigrateDown rolls back the most recent migration; one that would drop
// archived events is refused (ErrWouldDestroy) unless destroy is set.
func (s *Store) MigrateDown(ctx context.Context, destroy bool) (Migration, error) {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	res, err := migrations.Down(ctx, db, destroy)
	if err != nil {
		return Migration{}, s.migrationError(ctx, err)
	}
	return Migration{Path: res.Source.Path, Duration: res.Duration}, nil
}

// MigrationStatus lists every migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]Migration, error) {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := migrations.NewProvider(ctx, db)
	if err != nil {
		return nil, s.migrationError(ctx, err)
	}
	sts, err := p.Status(ctx)
	if err != nil {
		return nil, s.migrationError(ctx, fmt.Errorf("migration status: %w", err))
	}
	out := make([]Migration, 0, len(sts))
	for _, st := range sts {
		m := Migration{Path: st.Source.Path}
		if st.State == goose.StateApplied {
			at := st.AppliedAt.UTC()
			m.AppliedAt = &at
		}
		out = append(out, m)
	}
	return out, nil
}

// migrationError says who may migrate when the connected role may not.
func (s *Store) migrationError(ctx context.Context, err error) error {
	err = interpretError(err)
	if !errors.Is(err, ErrPermission) {
		return err
	}
	var who string
	if qerr := s.pool.QueryRow(ctx, `SELECT current_user`).Scan(&who); qerr != nil {
		who = "this role"
	}
	return fmt.Errorf("%w; %s may not change the archive's schema: run `archiver migrate` as the archive's owner "+
		"(the role that created it, or a superuser), not as the archiver's writer login", err, who)
}
