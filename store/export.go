package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
)

// Selection chooses the events of an export: a half-open period [From, To)
// of valid time (occurred_at) or, with ByRecorded, of transaction time
// (recorded_at), optionally of one account, region or source.
type Selection struct {
	From, To   time.Time
	ByRecorded bool
	Account    *string
	Region     *string
	Source     *model.SourceID
}

// timeColumn is the column the period applies to. It is one of two fixed
// names, never user input.
func (sel Selection) timeColumn() string {
	if sel.ByRecorded {
		return "recorded_at"
	}
	return "occurred_at"
}

// targetFilter is the SQL condition on targets t, with its arguments from $1.
func (sel Selection) targetFilter() (string, []any) {
	return `($1::text IS NULL OR t.account = $1) AND ($2::text IS NULL OR t.region = $2) AND ($3::text IS NULL OR t.source = $3)`,
		[]any{sel.Account, sel.Region, sel.Source}
}

// eventFilter is the SQL condition on events e joined to targets t, with its
// arguments from $1.
func (sel Selection) eventFilter() (string, []any) {
	where, args := sel.targetFilter()
	return where + ` AND e.` + sel.timeColumn() + ` >= $4 AND e.` + sel.timeColumn() + ` < $5`,
		append(args, sel.From, sel.To)
}

// SelectedChains returns the chain heads of every target the selection
// names (whether or not it has events in the period).
func (s *Snapshot) SelectedChains(ctx context.Context, sel Selection) ([]ChainHead, error) {
	where, args := sel.targetFilter()
	return chainHeadsWhere(ctx, s.tx, where, args...)
}

// CountSelected counts the selected events as of now, outside any
// snapshot: it is a progress bar's total, read beside the export so it does
// not delay the first row, and an estimate is all it needs to be.
func (s *Store) CountSelected(ctx context.Context, sel Selection) (int64, error) {
	where, args := sel.eventFilter()
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM archive.events e JOIN archive.targets t ON t.id = e.target_id
		WHERE `+where, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count selected events: %w", interpretError(err))
	}
	return n, nil
}

// dayOf is the UTC day of a timestamp column, in SQL.
func dayOf(column string) string { return `date_trunc('day', ` + column + ` AT TIME ZONE 'UTC')` }

// SelectedEvents opens a cursor over the selected events in chain order
// (target, chain position); with byDay, grouped by the UTC day of the
// selection time first, so a writer per day can be filled one after another.
func (s *Snapshot) SelectedEvents(ctx context.Context, sel Selection, byDay bool) (*EventCursor, error) {
	where, args := sel.eventFilter()
	order := "e.target_id, e.chain_position"
	if byDay {
		order = dayOf("e."+sel.timeColumn()) + ", " + order
	}
	c, err := stream(ctx, s.tx, `SELECT `+eventColumns+` FROM (
		SELECT e.* FROM archive.events e JOIN archive.targets t ON t.id = e.target_id WHERE `+where+`) e
		ORDER BY `+order, args...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return &EventCursor{c: c}, nil
}

// foldColumnsOf lists, for events aliased e, eventColumns without what
// folding never reads (hashes, and the payloads of status changes, the bulk
// of the log): enough for query.SendAt. The payloads of discoveries and
// attribute, tag and detail changes stay: those events' values are read
// from them (model.InvocationDetailOf, model.InstanceDetailsOf).
func foldColumnsOf(e string) string {
	return strings.NewReplacer("e.", e+".").Replace(`e.id, e.target_id, e.chain_position, e.invoke_id, coalesce(e.instance_id, ''),
	e.seq, e.type, coalesce(e.from_status, ''), coalesce(e.to_status, ''), e.occurred_at, e.recorded_at, e.evidence,
	coalesce(e.run_id, 0), CASE WHEN e.type <> 'instance_status_changed' THEN e.detail::text END,
	CASE WHEN e.type IN ('invocation_discovered', 'invocation_attributes_changed', 'invocation_tags_changed',
		'instance_discovered', 'instance_details_changed') THEN e.payload::text ELSE '' END, ''::bytea, ''::bytea`)
}

// SendEventCursor streams, for every send with an event in a selection, all
// its events up to the end of the period, in sequence order, each with the
// send's anchor: the valid time of its discovery (its creation time when
// the source gave one). The events carry what folding needs (foldColumns):
// no payloads, no hashes.
type SendEventCursor struct {
	c      *cursor
	sc     eventScanner
	anchor time.Time
	buf    []anchoredEvent
	i      int
}

type anchoredEvent struct {
	anchor time.Time
	event  StoredEvent
}

// SelectedSendEvents opens a SendEventCursor. Events are those with
// occurred_at ≤ sel.To (and, ByRecorded, recorded_at ≤ sel.To), ordered by
// target, invoke id and sequence; with byDay, by the anchor's UTC day first.
func (s *Snapshot) SelectedSendEvents(ctx context.Context, sel Selection, byDay bool) (*SendEventCursor, error) {
	where, args := sel.eventFilter()
	known := ""
	if sel.ByRecorded {
		known = ` AND e.recorded_at <= $5`
	}
	// Sends in order, then each send's events by sequence through its
	// index: the output is ordered without sorting every event.
	order, inner := "a.target_id, a.invoke_id", "sel.target_id, sel.invoke_id"
	if byDay {
		order, inner = dayOf("a.anchor")+", "+order, dayOf("d.occurred_at")+", "+inner
	}
	c, err := stream(ctx, s.tx, `WITH sel AS (
			SELECT DISTINCT e.target_id, e.invoke_id FROM archive.events e JOIN archive.targets t ON t.id = e.target_id
			WHERE `+where+`),
		anchored AS (
			SELECT sel.target_id, sel.invoke_id, d.occurred_at AS anchor FROM sel
			JOIN archive.events d ON d.target_id = sel.target_id AND d.invoke_id = sel.invoke_id AND d.seq = 1
			ORDER BY `+inner+`)
		SELECT a.anchor, `+foldColumnsOf("e")+` FROM anchored a
		CROSS JOIN LATERAL (SELECT * FROM archive.events e
			WHERE e.target_id = a.target_id AND e.invoke_id = a.invoke_id AND e.occurred_at <= $5`+known+`
			ORDER BY e.seq) e
		ORDER BY `+order+`, e.seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("read the selection's sends: %w", err)
	}
	return &SendEventCursor{c: c}, nil
}

// Next returns the next event and its send's anchor; ok is false at the end.
func (sc *SendEventCursor) Next(ctx context.Context) (anchor time.Time, e StoredEvent, ok bool, err error) {
	if sc.i == len(sc.buf) {
		sc.buf, sc.i = sc.buf[:0], 0
		_, err := sc.c.fetch(ctx, func(r pgx.CollectableRow) error {
			if err := r.Scan(append([]any{&sc.anchor}, sc.sc.targets()...)...); err != nil {
				return err
			}
			sc.buf = append(sc.buf, anchoredEvent{anchor: sc.anchor.UTC(), event: sc.sc.event()})
			return nil
		})
		if err != nil {
			return anchor, e, false, fmt.Errorf("read the selection's sends: %w", err)
		}
		if len(sc.buf) == 0 {
			return anchor, e, false, nil
		}
	}
	sc.i++
	a := sc.buf[sc.i-1]
	return a.anchor, a.event, true, nil
}

// EventRef names an event by where it sits in a chain and what it hashes to.
type EventRef struct {
	TargetID, Position int64
	Hash               []byte
}

// MissingEvents returns the refs the archive does not hold: no event at that
// position of that chain, or one with another hash. Callers batch refs (a
// few thousand at a time).
func (s *Snapshot) MissingEvents(ctx context.Context, refs []EventRef) ([]EventRef, error) {
	targets := make([]int64, len(refs))
	positions := make([]int64, len(refs))
	hashes := make([][]byte, len(refs))
	for i, r := range refs {
		targets[i], positions[i], hashes[i] = r.TargetID, r.Position, r.Hash
	}
	rows, err := s.tx.Query(ctx, `SELECT u.t, u.p, u.h FROM unnest($1::bigint[], $2::bigint[], $3::bytea[]) AS u(t, p, h)
		WHERE NOT EXISTS (SELECT 1 FROM archive.events e WHERE e.target_id = u.t AND e.chain_position = u.p AND e.hash = u.h)
		ORDER BY u.t, u.p`, targets, positions, hashes)
	if err != nil {
		return nil, fmt.Errorf("look up exported events: %w", interpretError(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventRef, error) {
		var ref EventRef
		err := r.Scan(&ref.TargetID, &ref.Position, &ref.Hash)
		return ref, err
	})
	if err != nil {
		return nil, fmt.Errorf("look up exported events: %w", interpretError(err))
	}
	return out, nil
}

// Content is a stored file body.
type Content struct {
	SHA256  string
	Bytes   int64
	Content string
}

// SelectedContents returns the bodies pushed by the sends with an event in
// the selection, by SHA-256. Reading them needs archive_content_reader.
func (s *Snapshot) SelectedContents(ctx context.Context, sel Selection, fn func(Content) error) error {
	where, args := sel.eventFilter()
	s.cursors++
	c, err := declareCursor(ctx, s.tx, s.cursors, `SELECT c.sha256, c.bytes, c.content FROM archive.contents c
		WHERE c.sha256 IN (SELECT i.content_sha256 FROM archive.invocations i
			WHERE (i.target_id, i.invoke_id) IN (SELECT e.target_id, e.invoke_id FROM archive.events e
				JOIN archive.targets t ON t.id = e.target_id WHERE `+where+`))
		ORDER BY c.sha256`, args...)
	if err != nil {
		return fmt.Errorf("read contents: %w", err)
	}
	for {
		var buf []Content
		n, err := c.fetch(ctx, func(r pgx.CollectableRow) error {
			var ct Content
			err := r.Scan(&ct.SHA256, &ct.Bytes, &ct.Content)
			buf = append(buf, ct)
			return err
		})
		if err != nil {
			return fmt.Errorf("read contents: %w", err)
		}
		for _, ct := range buf {
			if err := fn(ct); err != nil {
				return err
			}
		}
		if n == 0 {
			return nil
		}
	}
}

// SendState is a send with an event in a selection: its anchor (see
// SendEventCursor) and, when none of its events occurred after the end of
// the period (it is settled), its projection, which is then its state at
// the end of the period.
type SendState struct {
	Anchor   time.Time
	TargetID int64
	InvokeID string
	Settled  *model.KnownInvocation // nil when events occurred after sel.To
}

// SendStateCursor streams the SendStates of a selection. It reads two
// declared cursors side by side, the sends and their instances, in the same
// order, which is far cheaper than aggregating each send's instances.
type SendStateCursor struct {
	sends, instances *cursor
	to               time.Time
	buf              []SendState
	inst             []instanceRow
	i, j             int
}

type instanceRow struct {
	targetID   int64
	invokeID   string
	instanceID string
	in         model.KnownInstance
}

// SelectedSendStates opens a SendStateCursor ordered by target and invoke
// id (with byDay, by the anchor's UTC day first). Its cursors are declared,
// so the snapshot can be queried between its rows (SendEvents).
func (s *Snapshot) SelectedSendStates(ctx context.Context, sel Selection, byDay bool) (*SendStateCursor, error) {
	where, args := sel.eventFilter()
	order := "a.target_id, a.invoke_id"
	if byDay {
		order = dayOf("a.anchor") + ", " + order
	}
	anchored := `WITH sel AS (
			SELECT DISTINCT e.target_id, e.invoke_id FROM archive.events e JOIN archive.targets t ON t.id = e.target_id
			WHERE ` + where + `),
		anchored AS (
			SELECT sel.target_id, sel.invoke_id, d.occurred_at AS anchor FROM sel
			JOIN archive.events d ON d.target_id = sel.target_id AND d.invoke_id = sel.invoke_id AND d.seq = 1)`
	sends, err := s.declare(ctx, anchored+` SELECT a.anchor, i.target_id, `+invocationColumns+`, '[]'::jsonb
		FROM anchored a JOIN archive.invocations i ON i.target_id = a.target_id AND i.invoke_id = a.invoke_id
		ORDER BY `+order, args...)
	if err != nil {
		return nil, fmt.Errorf("read the selection's sends: %w", err)
	}
	instances, err := s.declare(ctx, anchored+` SELECT x.target_id, x.invoke_id, x.instance_id, x.status, x.status_since,
			x.last_occurred_at, x.creation_time, x.start_time, x.finish_time, x.error_code, x.error_info, x.stop_time,
			x.repeats, x.exit_code, x.dropped, coalesce(x.output_sha256, '')
		FROM anchored a JOIN archive.instances x ON x.target_id = a.target_id AND x.invoke_id = a.invoke_id
		ORDER BY `+order+`, x.instance_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read the selection's instances: %w", err)
	}
	return &SendStateCursor{sends: sends, instances: instances, to: sel.To}, nil
}

// Next returns the next send; ok is false at the end.
func (sc *SendStateCursor) Next(ctx context.Context) (st SendState, ok bool, err error) {
	if sc.i == len(sc.buf) {
		if err := sc.fetchSends(ctx); err != nil || len(sc.buf) == 0 {
			return st, false, err
		}
	}
	st, k := sc.buf[sc.i], sc.buf[sc.i].Settled
	sc.i++
	settled := !k.LastOccurredAt.After(sc.to)
	for {
		if sc.j == len(sc.inst) {
			if err := sc.fetchInstances(ctx); err != nil {
				return st, false, err
			}
			if len(sc.inst) == 0 {
				break
			}
		}
		x := &sc.inst[sc.j]
		if x.targetID != st.TargetID || x.invokeID != st.InvokeID {
			break
		}
		sc.j++
		in := x.in
		k.Instances[x.instanceID] = &in
		settled = settled && !in.LastOccurredAt.After(sc.to)
	}
	if !settled {
		st.Settled = nil
	}
	return st, true, nil
}

func (sc *SendStateCursor) fetchSends(ctx context.Context) error {
	sc.buf, sc.i = sc.buf[:0], 0
	_, err := sc.sends.fetch(ctx, func(r pgx.CollectableRow) error {
		var kr knownRow
		var st SendState
		if err := r.Scan(append([]any{&st.Anchor, &st.TargetID}, kr.targets()...)...); err != nil {
			return err
		}
		k, err := kr.known()
		st.Anchor, st.InvokeID, st.Settled = st.Anchor.UTC(), k.InvokeID, k
		sc.buf = append(sc.buf, st)
		return err
	})
	if err != nil {
		return fmt.Errorf("read the selection's sends: %w", err)
	}
	return nil
}

func (sc *SendStateCursor) fetchInstances(ctx context.Context) error {
	sc.inst, sc.j = sc.inst[:0], 0
	_, err := sc.instances.fetch(ctx, func(r pgx.CollectableRow) error {
		var x instanceRow
		var since *time.Time
		d := &x.in.Details
		if err := r.Scan(&x.targetID, &x.invokeID, &x.instanceID, &x.in.Status, &since, &x.in.LastOccurredAt,
			&d.CreationTime, &d.StartTime, &d.FinishTime, &d.ErrorCode, &d.ErrorInfo, &d.StopTime, &d.Repeats, &d.ExitCode,
			&d.Dropped, &d.OutputSHA256); err != nil {
			return err
		}
		if since != nil {
			x.in.StatusSince = since.UTC()
		}
		x.in.LastOccurredAt = x.in.LastOccurredAt.UTC()
		utcPtr(&d.CreationTime)
		utcPtr(&d.StartTime)
		utcPtr(&d.FinishTime)
		utcPtr(&d.StopTime)
		sc.inst = append(sc.inst, x)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the selection's instances: %w", err)
	}
	return nil
}

// SendEvents returns what folding one send needs of its events (see
// foldColumnsOf) with occurred_at ≤ to, in sequence order.
func (s *Snapshot) SendEvents(ctx context.Context, targetID int64, invokeID string, to time.Time) ([]StoredEvent, error) {
	rows, err := s.tx.Query(ctx, `SELECT `+foldColumnsOf("e")+` FROM archive.events e
		WHERE e.target_id = $1 AND e.invoke_id = $2 AND e.occurred_at <= $3 ORDER BY e.seq`, targetID, invokeID, to)
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", invokeID, interpretError(err))
	}
	var sc eventScanner
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StoredEvent, error) {
		err := r.Scan(sc.targets()...)
		return sc.event(), err
	})
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", invokeID, interpretError(err))
	}
	return out, nil
}
