package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	// contents are the bodies SaveContent was given, written when the page
	// commits; shas are their hashes, in order.
	contents map[string]string
	shas     []string
	// projections and progress are sent with the page's end too: one round
	// trip for everything but the events.
	projections []*Projections
	progress    *Run
	// order is set for an overlapped page (WithPageAfter): start is where
	// it was chained after, published whether its tail has been told.
	order     *PageOrder
	start     ChainTail
	published bool
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
		return p.finish(ctx)
	})
}

// finish writes what the page kept for its end in one round trip: the
// projections, the file bodies, the chain's new head and the run's progress.
func (p *Page) finish(ctx context.Context) error {
	return p.send(ctx, func(b *labelledBatch) {
		p.projectionBatch(b)
		p.endBatch(b)
	})
}

// send sends the statements build queues, in one round trip.
func (p *Page) send(ctx context.Context, build func(*labelledBatch)) error {
	var b labelledBatch
	build(&b)
	return b.send(ctx, p.tx)
}

// projectionBatch queues the projections the page was given.
func (p *Page) projectionBatch(b *labelledBatch) {
	for _, pr := range p.projections {
		b.batch.QueuedQueries = append(b.batch.QueuedQueries, pr.batch.QueuedQueries...)
		b.label(pr.wrap)
	}
}

// endBatch queues the chain's advance, the file bodies and the run's
// progress. An overlapped page advances the chain only from where it was
// chained after (it holds no lock until then), even when it appended
// nothing: the update takes the lock and checks in one statement.
func (p *Page) endBatch(b *labelledBatch) {
	switch {
	case p.order != nil:
		b.batch.Queue(`UPDATE archive.targets SET chain_head = $2, chain_length = $3
			WHERE id = $1 AND chain_length = $4 AND chain_head IS NOT DISTINCT FROM $5`,
			p.targetID, p.head, p.length, p.start.Length, p.start.Head)
		b.check(func(tag pgconn.CommandTag, err error) error {
			if err != nil {
				return fmt.Errorf("advance the chain of target %d to %d: %w", p.targetID, p.length, err)
			}
			if tag.RowsAffected() != 1 {
				return fmt.Errorf("advance the chain of target %d from %d: %w", p.targetID, p.start.Length, ErrChainMoved)
			}
			return nil
		})
	case p.appended > 0:
		b.batch.Queue(`UPDATE archive.targets SET chain_head = $2, chain_length = $3 WHERE id = $1`,
			p.targetID, p.head, p.length)
		b.label(func(err error) error {
			return fmt.Errorf("advance the chain of target %d to %d: %w", p.targetID, p.length, err)
		})
	}
	if len(p.shas) > 0 {
		bodies, sizes := make([]string, len(p.shas)), make([]int64, len(p.shas))
		for i, sha := range p.shas {
			c := p.contents[sha]
			bodies[i], sizes[i] = sanitizeText(c), int64(len(c))
		}
		b.batch.Queue(`INSERT INTO archive.contents (sha256, content, bytes)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT (sha256) DO NOTHING`, p.shas, bodies, sizes)
		b.label(func(err error) error { return fmt.Errorf("save %d contents: %w", len(p.shas), err) })
	}
	if r := p.progress; r != nil {
		b.batch.Queue(`UPDATE archive.ingest_runs SET pages = $2, records = $3, events = $4, api_calls = $5,
			retries = $6, disagreements = $7, oversized = $8, expired = $9 WHERE id = $1`,
			p.runID, r.Pages, r.Records, r.Events, r.APICalls, r.Retries, r.Disagreements, r.Oversized, r.Expired)
		b.label(func(err error) error { return fmt.Errorf("record progress of run %d: %w", p.runID, err) })
	}
}

// labelledBatch is a batch whose every statement has a check: it turns the
// statement's outcome into the page's error, naming what failed.
type labelledBatch struct {
	batch  pgx.Batch
	checks []func(pgconn.CommandTag, error) error
}

// label gives the statements queued since the last label or check an error
// wrapper: any error they return is wrapped.
func (b *labelledBatch) label(wrap func(error) error) {
	b.check(func(_ pgconn.CommandTag, err error) error {
		if err != nil {
			return wrap(err)
		}
		return nil
	})
}

// check gives the statements queued since the last label or check a check.
func (b *labelledBatch) check(c func(pgconn.CommandTag, error) error) {
	for len(b.checks) < b.batch.Len() {
		b.checks = append(b.checks, c)
	}
}

// send sends the batch and reads its results in order; the first check that
// fails is the error.
func (b *labelledBatch) send(ctx context.Context, tx pgx.Tx) error {
	if b.batch.Len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, &b.batch)
	for i := 0; i < b.batch.Len(); i++ {
		tag, err := br.Exec()
		if err != nil {
			err = interpretError(err)
		}
		if err := b.checks[i](tag, err); err != nil {
			_ = br.Close()
			return err
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("finish page: %w", interpretError(err))
	}
	return nil
}

// Rendered is an event with its documents in jsonb's text form, the bytes
// the chain hashes. Rendering is the costly part of an append that does not
// depend on the chain, so a caller can do it ahead, beside the previous
// page's transaction (Render), and append what it rendered
// (AppendRendered).
type Rendered struct {
	Event           *model.Event
	detail, payload []byte
}

// Render prepares events for AppendRendered.
func Render(events []model.Event) ([]Rendered, error) {
	out := make([]Rendered, len(events))
	for i := range events {
		e := &events[i]
		detail, err := JSONBText(e.Detail)
		if err != nil {
			return nil, fmt.Errorf("event %s/%d detail: %w", e.InvokeID, e.Seq, err)
		}
		payload, err := payloadText(e)
		if err != nil {
			return nil, fmt.Errorf("event %s/%d payload: %w", e.InvokeID, e.Seq, err)
		}
		out[i] = Rendered{Event: e, detail: detail, payload: payload}
	}
	return out, nil
}

// payloadText is JSONBText(e.Payload). An event that keeps its decoded
// payload was given it already printed that way (model.Event.SetPayload).
func payloadText(e *model.Event) ([]byte, error) {
	if e.PayloadObject() != nil {
		return e.Payload, nil
	}
	return JSONBText(e.Payload)
}

// Append renders the events and appends them (AppendRendered).
func (p *Page) Append(ctx context.Context, events []model.Event) error {
	rendered, err := Render(events)
	if err != nil {
		return err
	}
	return p.AppendRendered(ctx, rendered)
}

// AppendRendered hashes the events onto the target's chain and writes them
// with COPY. Each row is hashed as COPY asks for it (pgx encodes rows in a
// goroutine of its own while the connection sends), so the Go side of an
// append overlaps the server's side instead of preceding it.
func (p *Page) AppendRendered(ctx context.Context, events []Rendered) error {
	if len(events) == 0 {
		return nil
	}
	if p.order != nil {
		return p.appendHashed(ctx, events)
	}
	// The chain advances only once the COPY has succeeded; the row source
	// is done with head and length when CopyFrom returns.
	head, length, i := p.head, p.length, 0
	next := func() ([]any, error) {
		if i == len(events) {
			return nil, nil
		}
		row, hash := p.eventRow(&events[i], head, length+1)
		head, length, i = hash, length+1, i+1
		return row, nil
	}
	n, err := p.tx.CopyFrom(ctx, pgx.Identifier{"archive", "events"}, eventCopyColumns, pgx.CopyFromFunc(next))
	if err != nil {
		return fmt.Errorf("append %d events: %w", len(events), interpretError(err))
	}
	if int(n) != len(events) {
		return fmt.Errorf("append events: wrote %d of %d", n, len(events))
	}
	p.head, p.length = head, length
	p.appended += len(events)
	return nil
}

// eventCopyColumns are the columns AppendRendered writes, in eventRow's
// order.
var eventCopyColumns = []string{
	"target_id", "invoke_id", "instance_id", "seq", "type", "from_status", "to_status",
	"occurred_at", "recorded_at", "evidence", "run_id", "detail", "payload", "prev_hash", "hash", "chain_position",
}

// eventRow renders r as the row that follows prev at chain position pos,
// and returns it with its hash. The chain hashes the JSON exactly as jsonb
// prints it back, so verify can hash what it reads without re-encoding
// anything.
func (p *Page) eventRow(r *Rendered, prev []byte, pos int64) ([]any, []byte) {
	e := r.Event
	occurred := e.OccurredAt.UTC().Truncate(time.Microsecond)
	hash := EventHash(prev, ChainFields{
		TargetID: p.targetID, InvokeID: e.InvokeID, InstanceID: e.InstanceID, Seq: e.Seq, Type: string(e.Type),
		FromStatus: string(e.FromStatus), ToStatus: string(e.ToStatus), OccurredAt: occurred, RecordedAt: p.recordedAt,
		Evidence: string(e.Evidence), RunID: p.runID, Detail: r.detail, Payload: r.payload,
	})
	return []any{
		p.targetID, e.InvokeID, nullable(e.InstanceID), e.Seq, string(e.Type), nullable(string(e.FromStatus)),
		nullable(string(e.ToStatus)), occurred, p.recordedAt, string(e.Evidence), nullableID(p.runID), jsonValue(r.detail),
		jsonValue(r.payload), prev, hash, pos,
	}, hash
}

// SaveContent stores a file body (or a command's output) once per SHA-256.
// The page's bodies are written together when it commits, in one statement
// (one per body cost a round trip each); a body already stored, or given
// twice, is kept once.
func (p *Page) SaveContent(_ context.Context, sha256Hex, content string) error {
	if _, dup := p.contents[sha256Hex]; dup {
		return nil
	}
	if p.contents == nil {
		p.contents = map[string]string{}
	}
	p.contents[sha256Hex] = content
	p.shas = append(p.shas, sha256Hex)
	return nil
}

// WriteProjections saves projections planned beforehand (PlanProjections)
// for this page's target. They are sent with the page's end, in one round
// trip with the rest of it.
func (p *Page) WriteProjections(_ context.Context, pr *Projections) error {
	if pr.batch.Len() > 0 {
		p.projections = append(p.projections, pr)
	}
	return nil
}

// Progress records the run's counts so far inside the page transaction, so a
// crash leaves the run row consistent with what was committed. The counts
// are written with the page's end.
func (p *Page) Progress(_ context.Context, r Run) error {
	p.progress = &r
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
