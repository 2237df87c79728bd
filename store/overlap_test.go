package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// overlapEvents returns n instance events of one new send per page k.
func overlapEvents(k, n int) []model.Event {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	events := make([]model.Event, n)
	for i := range events {
		events[i] = model.Event{InvokeID: fmt.Sprintf("f-page-%d", k), InstanceID: fmt.Sprintf("i-%d", i), Seq: int64(i + 1),
			Type: model.EventInstanceStatusChanged, FromStatus: "Running", ToStatus: "Success",
			OccurredAt: t0.Add(time.Duration(k*n+i) * time.Second), Evidence: model.EvidenceFinishTime}
		if err := events[i].SetPayload(map[string]any{"InvocationStatus": "Success", "Page": fmt.Sprint(k)}); err != nil {
			panic(err)
		}
	}
	return events
}

// inFlight is one overlapped page running in the background.
type inFlight struct {
	tail chan store.ChainTail
	done chan error
}

func (f *inFlight) wait(ctx context.Context) error {
	err := <-f.done
	f.done <- err // for the test's own wait too
	return err
}

// startPage starts page k after prev (nil: none in flight); fail, when
// set, is returned by the page's writes after its events are appended.
func startPage(ctx context.Context, st *store.Store, target int64, prev *inFlight, k int, fail error) *inFlight {
	f := &inFlight{tail: make(chan store.ChainTail, 1), done: make(chan error, 1)}
	o := store.PageOrder{TargetID: target, Tail: func(t store.ChainTail) { f.tail <- t }}
	if prev != nil {
		t := <-prev.tail
		o.After, o.Prev = &t, prev.wait
	}
	go func() {
		f.done <- st.WithPageAfter(ctx, o, func(p *store.Page) error {
			if err := p.Append(ctx, overlapEvents(k, 40)); err != nil {
				return err
			}
			return fail
		})
	}()
	return f
}

// checkChain recomputes the target's chain from what is stored: positions
// 1..n in order, each event hashed after the one before, recording times
// never going back, and the target's head at the last event.
func checkChain(t *testing.T, st *store.Store, target int64, want int) {
	t.Helper()
	ctx := context.Background()
	rows, err := st.Pool().Query(ctx, `SELECT invoke_id, coalesce(instance_id, ''), seq, type, coalesce(from_status, ''),
		coalesce(to_status, ''), occurred_at, recorded_at, evidence, coalesce(run_id, 0), detail::text, payload::text,
		prev_hash, hash, chain_position FROM archive.events WHERE target_id = $1 ORDER BY chain_position`, target)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	prev, n, last := store.GenesisHash, 0, time.Time{}
	for rows.Next() {
		f := store.ChainFields{TargetID: target}
		var detail *string
		var payload string
		var prevHash, hash []byte
		var pos int64
		if err := rows.Scan(&f.InvokeID, &f.InstanceID, &f.Seq, &f.Type, &f.FromStatus, &f.ToStatus, &f.OccurredAt,
			&f.RecordedAt, &f.Evidence, &f.RunID, &detail, &payload, &prevHash, &hash, &pos); err != nil {
			t.Fatal(err)
		}
		n++
		if detail != nil {
			f.Detail = []byte(*detail)
		}
		f.Payload = []byte(payload)
		if pos != int64(n) || !bytes.Equal(prevHash, prev) || !bytes.Equal(hash, store.EventHash(prev, f)) {
			t.Fatalf("event at position %d (the %dth) does not chain after the one before", pos, n)
		}
		if f.RecordedAt.Before(last) {
			t.Fatalf("event %d recorded at %s, before the event before it (%s)", n, f.RecordedAt, last)
		}
		prev, last = hash, f.RecordedAt
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var head []byte
	var length int64
	if err := st.Pool().QueryRow(ctx, `SELECT chain_head, chain_length FROM archive.targets WHERE id = $1`, target).
		Scan(&head, &length); err != nil {
		t.Fatal(err)
	}
	if n != want || length != int64(n) || (n > 0 && !bytes.Equal(head, prev)) {
		t.Fatalf("%d events stored, want %d; the target's chain says length %d", n, want, length)
	}
}

// overlapTarget is a fresh store with one target.
func overlapTarget(t *testing.T) (*store.Store, store.Target) {
	t.Helper()
	st := storetest.New(t)
	target, _, err := st.EnsureTarget(context.Background(), "", "cn-overlap", model.SourceSendFileResults)
	if err != nil {
		t.Fatal(err)
	}
	return st, target
}

// Overlapped pages commit in order into one unbroken chain, each started
// while the one before it was still being written.
func TestOverlappedPagesMakeOneChain(t *testing.T) {
	ctx := context.Background()
	st, target := overlapTarget(t)
	var prev *inFlight
	var pages []*inFlight
	for k := range 6 {
		prev = startPage(ctx, st, target.ID, prev, k, nil)
		pages = append(pages, prev)
	}
	for k, p := range pages {
		if err := p.wait(ctx); err != nil {
			t.Fatalf("page %d: %v", k, err)
		}
	}
	checkChain(t, st, target.ID, 6*40)
}

// A page after a failed one fails too and leaves nothing behind; a page
// chained after a tail the chain has since moved from is refused.
func TestOverlappedPageAfterAFailureOrAnotherWriter(t *testing.T) {
	ctx := context.Background()
	st, target := overlapTarget(t)
	first := startPage(ctx, st, target.ID, nil, 0, nil)
	boom := errors.New("boom")
	failing := startPage(ctx, st, target.ID, first, 1, boom)
	after := startPage(ctx, st, target.ID, failing, 2, nil)
	if err := first.wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := failing.wait(ctx); !errors.Is(err, boom) {
		t.Fatalf("failing page: %v", err)
	}
	if err := after.wait(ctx); !errors.Is(err, store.ErrChainMoved) || !errors.Is(err, boom) {
		t.Fatalf("the page after a failed one: %v, want ErrChainMoved naming the failure", err)
	}
	checkChain(t, st, target.ID, 40)

	// Another writer appends between a page's start and its commit.
	stale := &inFlight{tail: make(chan store.ChainTail, 1), done: make(chan error, 1)}
	var tail store.ChainTail
	if err := st.WithPageAfter(ctx, store.PageOrder{TargetID: target.ID, Tail: func(t store.ChainTail) { tail = t }},
		func(p *store.Page) error { return nil }); err != nil {
		t.Fatal(err)
	}
	stale.tail <- tail
	stale.done <- nil
	if err := st.WithPage(ctx, target.ID, 0, func(p *store.Page) error { return p.Append(ctx, overlapEvents(3, 5)) }); err != nil {
		t.Fatal(err)
	}
	late := startPage(ctx, st, target.ID, stale, 4, nil)
	if err := late.wait(ctx); !errors.Is(err, store.ErrChainMoved) {
		t.Fatalf("a page chained after a stale tail: %v, want ErrChainMoved", err)
	}
	checkChain(t, st, target.ID, 45)
}
