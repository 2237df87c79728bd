package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// headWalk is a tick's walk when a recent reconcile is on record (DESIGN.md
// §12): it costs what changed, not what the source still holds. It lists
// from the newest page to the first page with nothing new, changed or
// unfinished; then refreshes the unfinished sends it has not met through
// listings filtered by their status, and looks up directly any still
// unaccounted for. It relies on the listing being newest first, which the
// API does not document: the reconcile's miss check is what makes that safe.
type headWalk struct {
	base       fullWalk           // the source, bounds and logger every listing of the walk uses
	unfinished []store.Unfinished // live sends not final, as the archive knew them before the walk
	filterable []model.Status     // the unfinished overall statuses the listing can filter by
}

func (w *headWalk) run(ctx context.Context, rec *recorder) error {
	if err := w.head(ctx, rec); err != nil {
		return err
	}
	// Filtered listings and lookups reach old sends: they prove nothing
	// about the continuity of the listing, which coverage is about.
	rec.widen = false
	for _, status := range w.filterable {
		if w.unseen(rec, status) == 0 {
			continue
		}
		if err := w.listStatus(ctx, rec, status); err != nil {
			return err
		}
	}
	for _, u := range w.unfinished {
		if rec.seen[u.InvokeID] {
			continue
		}
		if err := lookUp(ctx, w.base.source, rec, u.InvokeID, false); err != nil {
			return err
		}
	}
	return nil
}

// head lists the newest pages until a quiet one, restarting (bounded) when
// the API rejects or repeats a token.
func (w *headWalk) head(ctx context.Context, rec *recorder) error {
	walk := w.base
	// read fetches one page at a time: a head walk usually stops after one.
	return walk.restarting(ctx, "the head walk", func() error {
		return record(ctx, &walk, rec, func(quiet bool) bool { return !quiet })
	})
}

// record reads a walk's pages into the recorder, one page transaction each,
// for as long as more says to go on after a page (given whether it was
// quiet), and returns the error that ended the walk.
func record(ctx context.Context, walk *fullWalk, rec *recorder, more func(quiet bool) bool) error {
	var err error
	walk.read(ctx, func(f fetched) bool {
		if f.err != nil {
			rec.called(f.st)
			err = f.err
			return false
		}
		var quiet bool
		if quiet, err = rec.listed(ctx, f.page, f.st); err != nil {
			err = fmt.Errorf("store page: %w", err)
			return false
		}
		return more(quiet)
	})
	return err
}

// unseen counts the unfinished sends of a status not yet met in this run.
func (w *headWalk) unseen(rec *recorder, status model.Status) int {
	n := 0
	for _, u := range w.unfinished {
		if u.ReportedStatus == status && !rec.seen[u.InvokeID] {
			n++
		}
	}
	return n
}

// listStatus walks the listing filtered to one overall status.
func (w *headWalk) listStatus(ctx context.Context, rec *recorder, status model.Status) error {
	walk := w.base
	walk.list = func(ctx context.Context, token string) (source.Page, source.Stats, error) {
		return w.base.source.ListStatus(ctx, status, token)
	}
	err := walk.restarting(ctx, "the "+string(status)+" listing", func() error {
		return record(ctx, &walk, rec, func(bool) bool { return true })
	})
	if err != nil {
		return fmt.Errorf("list %s sends: %w", status, err)
	}
	return nil
}

// walkChoice decides a cycle's walk: a head walk when head walks are on,
// the target has not fallen back to full walks, and its last reconcile is
// recent enough; a full walk (a reconcile) otherwise.
func (c *Cycle) walkChoice(ctx context.Context, now time.Time) (head bool, h store.WalkHistory, err error) {
	if c.ReconcileEvery <= 0 {
		return false, h, nil
	}
	if h, err = c.Store.WalkHistory(ctx, c.Target.ID); err != nil {
		return false, h, err
	}
	head = h.FullWalksSince == nil && h.LastReconcile != nil && now.Sub(*h.LastReconcile) < c.ReconcileEvery
	return head, h, nil
}

// checkMisses runs after a reconcile: any send it discovered that was
// created before the last head walk started is one that walk should have
// listed. A miss is counted in the run, logged, and puts the target on full
// walks for good: its listing is not newest first.
func (c *Cycle) checkMisses(ctx context.Context, run *store.Run, h store.WalkHistory) error {
	if h.LastHeadWalk == nil {
		return nil
	}
	missed, err := c.Store.HeadWalkMisses(ctx, run.ID, *h.LastHeadWalk)
	if err != nil || len(missed) == 0 {
		return err
	}
	run.HeadWalkMisses = len(missed)
	c.Logger.Warn("the reconcile found sends the head walks missed; walking this target in full from now on",
		"target", c.Target.String(), "missed", len(missed), "first", missed[0])
	return c.Store.FallBackToFullWalks(ctx, c.Target.ID, run.StartedAt)
}
