package ingest

import (
	"context"
	"fmt"

	"github.com/cloudassistant/sendfile-archive/model"
)

// confirmExpiries runs after a complete walk: every live invocation the walk
// did not list is looked up directly, and recorded as expired only if the
// source confirms it is gone. One that turns up after all is diffed as
// usual. Both go through the recorder's one page transaction.
func confirmExpiries(ctx context.Context, src Source, rec *recorder) error {
	live, err := rec.store.LiveInvocations(ctx, rec.target.ID)
	if err != nil {
		return err
	}
	for _, id := range live {
		if rec.seen[id] {
			continue
		}
		if err := lookUp(ctx, src, rec, id, true); err != nil {
			return err
		}
	}
	return nil
}

// lookUp asks the source for one invocation by id and diffs what it says.
// When the source no longer has it, confirm records that it expired (after
// a complete walk); otherwise the call is only counted.
func lookUp(ctx context.Context, src Source, rec *recorder, id string, confirm bool) error {
	page, st, err := src.Lookup(ctx, id)
	if err != nil {
		rec.called(st)
		if confirm {
			return fmt.Errorf("confirm expiry of %s: %w", id, err)
		}
		return fmt.Errorf("look up %s: %w", id, err)
	}
	b := batch{at: rec.observedAt(page), calls: st}
	for _, inv := range page.Invocations {
		if inv.InvokeID == id {
			b.observed = []model.Invocation{inv}
			break
		}
	}
	switch {
	case b.observed == nil && !confirm:
		rec.called(st)
		return nil
	case b.observed == nil:
		b.expired = []string{id}
	}
	if _, err := rec.commit(ctx, b); err != nil {
		return fmt.Errorf("record lookup of %s: %w", id, err)
	}
	return nil
}
