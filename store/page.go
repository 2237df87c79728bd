package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// Page is one page's transaction on one target: everything a page changes
// (events, file contents, projections, run progress) commits together or not
// at all.
type Page struct {
	tx         pgx.Tx
	targetID   int64
	runID      int64
	recordedAt time.Time
	head       []byte
	length     int64
	appended   int
}

// WithPage runs fn in one transaction holding the target's chain lock. The
// lock (a row lock on archive.targets) is what keeps the hash chain linear
// even if two writers ever raced past the lease.
func (s *Store) WithPage(ctx context.Context, targetID, runID int64, fn func(p *Page) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		p := &Page{tx: tx, targetID: targetID, runID: runID}
		err := tx.QueryRow(ctx, `SELECT chain_head, chain_length, clock_timestamp() FROM archive.targets WHERE id = $1 FOR UPDATE`,
			targetID).Scan(&p.head, &p.length, &p.recordedAt)
		if err != nil {
			return fmt.Errorf("lock target %d: %w", targetID, interpretError(err))
		}
		// Transaction time comes from the database clock, one value per page,
		// so every archiver replica agrees on it.
		p.recordedAt = p.recordedAt.UTC().Truncate(time.Microsecond)
		if err := fn(p); err != nil {
			return err
		}
		if p.appended == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE archive.targets SET chain_head = $2, chain_length = $3 WHERE id = $1`,
			targetID, p.head, p.length); err != nil {
			return fmt.Errorf("advance chain of target %d: %w", targetID, interpretError(err))
		}
		return nil
	})
}

// Known loads the known state of the given invocations with one query.
// Invocations the archive has never seen are absent from the map.
func (p *Page) Known(ctx context.Context, invokeIDs []string) (map[string]*model.KnownInvocation, error) {
	return loadKnown(ctx, p.tx, p.targetID, invokeIDs)
}

// Append hashes the events onto the target's chain and writes them with COPY.
func (p *Page) Append(ctx context.Context, events []model.Event) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(events))
	for _, e := range events {
		// The chain hashes the JSON exactly as jsonb prints it back, so
		// verify can hash what it reads without re-encoding anything.
		detail, err := JSONBText(e.Detail)
		if err != nil {
			return fmt.Errorf("event %s/%d detail: %w", e.InvokeID, e.Seq, err)
		}
		payload, err := JSONBText(e.Payload)
		if err != nil {
			return fmt.Errorf("event %s/%d payload: %w", e.InvokeID, e.Seq, err)
		}
		occurred := e.OccurredAt.UTC().Truncate(time.Microsecond)
		hash := EventHash(p.head, ChainFields{
			TargetID: p.targetID, InvokeID: e.InvokeID, InstanceID: e.InstanceID, Seq: e.Seq, Type: string(e.Type),
			FromStatus: string(e.FromStatus), ToStatus: string(e.ToStatus), OccurredAt: occurred, RecordedAt: p.recordedAt,
			Evidence: string(e.Evidence), RunID: p.runID, Detail: detail, Payload: payload,
		})
		rows = append(rows, []any{
			p.targetID, e.InvokeID, nullable(e.InstanceID), e.Seq, string(e.Type), nullable(string(e.FromStatus)),
			nullable(string(e.ToStatus)), occurred, p.recordedAt, string(e.Evidence), nullableID(p.runID), jsonValue(detail),
			jsonValue(payload), p.head, hash, p.length + 1,
		})
		p.head = hash
		p.length++
	}
	n, err := p.tx.CopyFrom(ctx, pgx.Identifier{"archive", "events"}, []string{
		"target_id", "invoke_id", "instance_id", "seq", "type", "from_status", "to_status",
		"occurred_at", "recorded_at", "evidence", "run_id", "detail", "payload", "prev_hash", "hash", "chain_position",
	}, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("append %d events: %w", len(rows), interpretError(err))
	}
	if int(n) != len(rows) {
		return fmt.Errorf("append events: wrote %d of %d", n, len(rows))
	}
	p.appended += len(rows)
	return nil
}

// SaveContent stores a file body once per SHA-256.
func (p *Page) SaveContent(ctx context.Context, sha256Hex, content string) error {
	_, err := p.tx.Exec(ctx, `INSERT INTO archive.contents (sha256, content, bytes) VALUES ($1, $2, $3)
		ON CONFLICT (sha256) DO NOTHING`, sha256Hex, sanitizeText(content), len(content))
	if err != nil {
		return fmt.Errorf("save content %s: %w", sha256Hex, interpretError(err))
	}
	return nil
}

// SaveProjections writes the current state of the given invocations.
func (p *Page) SaveProjections(ctx context.Context, known []*model.KnownInvocation) error {
	return saveProjections(ctx, p.tx, p.targetID, known)
}

// Progress records the run's counts so far inside the page transaction, so a
// crash leaves the run row consistent with what was committed.
func (p *Page) Progress(ctx context.Context, r Run) error {
	_, err := p.tx.Exec(ctx, `UPDATE archive.ingest_runs SET pages = $2, records = $3, events = $4, api_calls = $5,
		retries = $6, disagreements = $7, oversized = $8, expired = $9 WHERE id = $1`,
		p.runID, r.Pages, r.Records, r.Events, r.APICalls, r.Retries, r.Disagreements, r.Oversized, r.Expired)
	if err != nil {
		return fmt.Errorf("record progress of run %d: %w", p.runID, interpretError(err))
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullableID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func jsonValue(b []byte) any {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}
