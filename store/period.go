package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// PeriodData is what the period audit report is made of: the sends created
// in [From, To) as they stood at To, read from the projections and the
// status intervals in one snapshot.
type PeriodData struct {
	Days          []DayStatus
	Instances     []Count
	ErrorCodes    []Count
	Files         []FileCount
	Disagreements []Disagreement
	// Disagreeing counts every such send (Disagreements lists the first).
	Disagreeing int64
	Targets     []Target
	Runs        []Run
}

// DayStatus counts the sends created on one UTC day by their status at the
// end of the period.
type DayStatus struct {
	Day    time.Time
	Status model.Status
	Sends  int64
}

// Count is a value and how often it occurred.
type Count struct {
	Key   string
	Count int64
}

// FileCount is a file name and target directory and how many sends pushed it.
type FileCount struct {
	Name, TargetDir string
	Sends           int64
}

// Disagreement is a send whose derived aggregate differed from the cloud's.
type Disagreement struct {
	Target         Target
	InvokeID       string
	DerivedStatus  model.Status
	ReportedStatus model.Status
	Times          int64
}

// periodTop bounds the ranked lists of the report.
const periodTop = 20

// Period reads the period report's data.
func (s *Store) Period(ctx context.Context, from, to time.Time) (PeriodData, error) {
	var d PeriodData
	err := s.ReadSnapshot(ctx, func(snap *Snapshot) error {
		tx := snap.tx
		steps := []func() error{
			func() error {
				// Each query reads a bounded set of rows through indexes; the
				// planner's estimates for years of intervals would have it
				// JIT-compile them, which costs more than it saves.
				_, err := tx.Exec(ctx, `SET LOCAL jit = off`)
				return interpretError(err)
			},
			func() (err error) { d.Days, err = periodDays(ctx, tx, from, to); return },
			func() (err error) {
				d.Instances, err = periodCounts(ctx, tx, `x.status`, `true`, from, to)
				return
			},
			func() (err error) {
				d.ErrorCodes, err = periodCounts(ctx, tx, `x.error_code`, `x.error_code <> ''`, from, to)
				return
			},
			func() (err error) { d.Files, err = periodFiles(ctx, tx, from, to); return },
			func() (err error) { d.Disagreements, err = periodDisagreements(ctx, tx, from, to); return },
			func() error {
				return interpretError(tx.QueryRow(ctx, inPeriod+`SELECT count(*) FROM i WHERE i.disagreements > 0`,
					from, to).Scan(&d.Disagreeing))
			},
			func() (err error) { d.Targets, err = targets(ctx, tx); return },
			func() (err error) { d.Runs, err = runs(ctx, tx); return },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("period report: %w", err)
	}
	return d, nil
}

// atTo joins a send's interval that covers the end of the period ($2). The
// lateral look-up (kept from being flattened into a join by its LIMIT) reads
// each send's own intervals through the primary key: a plain join hashes the
// intervals of every send the archive holds, and a report on last month
// would cost more each year.
const atTo = `LEFT JOIN LATERAL (SELECT s.status FROM archive.send_intervals s
	WHERE s.invoke_id = i.invoke_id AND s.target_id = i.target_id
		AND s.valid_from <= $2 AND (s.valid_to IS NULL OR s.valid_to > $2)
	ORDER BY s.valid_from DESC LIMIT 1) s ON true`

// inPeriod names i the sends created in the period. Materialised, it is
// planned on its own and read through the creation-time index; inlined, the
// planner weighs a scan of every send against it as a rounding error beside
// the per-send look-ups, and sometimes scans years to find a month.
const inPeriod = `WITH i AS MATERIALIZED (
		SELECT i.target_id, i.invoke_id, i.creation_time, i.name, i.target_dir, i.derived_status, i.reported_status,
			i.disagreements
		FROM archive.invocations i WHERE i.creation_time >= $1 AND i.creation_time < $2) `

func periodDays(ctx context.Context, tx pgx.Tx, from, to time.Time) ([]DayStatus, error) {
	rows, err := tx.Query(ctx, inPeriod+`SELECT date_trunc('day', i.creation_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
			coalesce(s.status, 'Unknown'), count(*)
		FROM i `+atTo+` GROUP BY 1, 2 ORDER BY 1, 2`, from, to)
	if err != nil {
		return nil, interpretError(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DayStatus, error) {
		var d DayStatus
		err := r.Scan(&d.Day, &d.Status, &d.Sends)
		d.Day = d.Day.UTC()
		return d, err
	})
	return out, interpretError(err)
}

// periodCounts counts the instances of the period's sends at its end by a
// column of their intervals (key), most frequent first.
func periodCounts(ctx context.Context, tx pgx.Tx, key, where string, from, to time.Time) ([]Count, error) {
	// Lateral for the reason atTo is; OFFSET 0 keeps it from being flattened.
	rows, err := tx.Query(ctx, inPeriod+`SELECT `+key+`, count(*) FROM i
		CROSS JOIN LATERAL (SELECT x.status, x.error_code FROM archive.instance_intervals x
			WHERE x.invoke_id = i.invoke_id AND x.target_id = i.target_id
				AND x.valid_from <= $2 AND (x.valid_to IS NULL OR x.valid_to > $2) OFFSET 0) x
		WHERE `+where+` GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $3`, from, to, periodTop)
	if err != nil {
		return nil, interpretError(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Count])
	return out, interpretError(err)
}

func periodFiles(ctx context.Context, tx pgx.Tx, from, to time.Time) ([]FileCount, error) {
	rows, err := tx.Query(ctx, inPeriod+`SELECT i.name, i.target_dir, count(*) FROM i
		GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT $3`, from, to, periodTop)
	if err != nil {
		return nil, interpretError(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[FileCount])
	return out, interpretError(err)
}

func periodDisagreements(ctx context.Context, tx pgx.Tx, from, to time.Time) ([]Disagreement, error) {
	rows, err := tx.Query(ctx, inPeriod+`SELECT t.id, t.account, t.region, t.source, i.invoke_id, i.derived_status,
			i.reported_status, i.disagreements
		FROM i JOIN archive.targets t ON t.id = i.target_id
		WHERE i.disagreements > 0 ORDER BY i.creation_time, i.invoke_id LIMIT $3`, from, to, periodTop)
	if err != nil {
		return nil, interpretError(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Disagreement, error) {
		var d Disagreement
		err := r.Scan(&d.Target.ID, &d.Target.Account, &d.Target.Region, &d.Target.Source, &d.InvokeID,
			&d.DerivedStatus, &d.ReportedStatus, &d.Times)
		return d, err
	})
	return out, interpretError(err)
}
