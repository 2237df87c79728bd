package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/store"
)

// ErrTokenLoop means the API handed back a NextToken it had already given in
// the same walk: following it would never end.
var ErrTokenLoop = errors.New("pagination token repeated")

// pageSink receives each listed page of a walk, in order. The walk does not
// know what happens to a page; the recorder persists it.
type pageSink interface {
	listed(ctx context.Context, page source.Page, st source.Stats) (quiet bool, err error)
	called(st source.Stats) // a call that produced no page
}

// fullWalk lists every page of the source from the first, following
// NextToken to the end. It is one walking strategy; the sink does not care
// which strategy produced a page.
type fullWalk struct {
	source Source
	// list, when set, lists instead of source.ListPage (a filtered listing).
	list        func(ctx context.Context, token string) (source.Page, source.Stats, error)
	maxPages    int
	maxRestarts int
	readAhead   int // pages fetched ahead of the one being stored
	logger      *slog.Logger
	target      store.Target
}

// run walks every page, restarting from the first page (bounded) when the
// API rejects a token or repeats one.
func (w *fullWalk) run(ctx context.Context, sink pageSink) error {
	return w.restarting(ctx, "the walk", func() error { return w.pages(ctx, sink) })
}

// restarting runs walk, and again from the start (at most maxRestarts
// times) when the API rejects a token or repeats one: that ends one walk,
// not the cycle; what was already committed is not diffed again.
func (w *fullWalk) restarting(ctx context.Context, what string, walk func() error) error {
	for restarts := 0; ; restarts++ {
		err := walk()
		if (errors.Is(err, source.ErrBadToken) || errors.Is(err, ErrTokenLoop)) && restarts < w.maxRestarts && ctx.Err() == nil {
			w.logger.Warn("restarting "+what, "target", w.target.String(), "restart", restarts+1, "reason", err)
			continue
		}
		if err != nil && restarts > 0 {
			return fmt.Errorf("after %d restarts: %w", restarts, err)
		}
		return err
	}
}

// fetched is one page the reader fetched ahead, or the error that ended
// the reading (with what the failed call cost).
type fetched struct {
	page source.Page
	st   source.Stats
	err  error
}

// pages walks the listing once. A reader fetches up to readAhead pages
// ahead of the page being stored, so API waits and database work overlap
// instead of adding up; the pages still reach the sink one at a time, in
// order, and a page fetched but not yet stored when the walk stops is
// simply fetched again by the next one. With readAhead ≤ 0 each page is
// fetched only after the previous one was stored.
func (w *fullWalk) pages(ctx context.Context, sink pageSink) error {
	n := 0
	keep := func(f fetched) error {
		n++
		if f.err != nil {
			sink.called(f.st)
			return f.err
		}
		if _, err := sink.listed(ctx, f.page, f.st); err != nil {
			return fmt.Errorf("store page %d: %w", n, err)
		}
		return nil
	}
	if w.readAhead <= 0 {
		var err error
		w.read(ctx, func(f fetched) bool { err = keep(f); return err == nil })
		return err
	}
	readCtx, cancel := context.WithCancel(ctx)
	// An unbuffered channel holds the reader one page ahead (the page it
	// fetched waits in the send); each slot of buffer adds one more.
	ahead := make(chan fetched, w.readAhead-1)
	defer func() {
		// The reader stops at once when cancelled (an API call in flight
		// is abandoned); the walk returns only after it has, so a restart
		// never overlaps it.
		cancel()
		for range ahead {
		}
	}()
	go func() {
		defer close(ahead)
		w.read(readCtx, func(f fetched) bool {
			select {
			case ahead <- f:
				return true
			case <-readCtx.Done():
				return false
			}
		})
	}()
	for f := range ahead {
		if err := keep(f); err != nil {
			return err
		}
	}
	return nil
}

// read fetches the pages in order, following NextToken, and hands each to
// emit, then the error that ended the walk if one did; it stops when emit
// returns false.
func (w *fullWalk) read(ctx context.Context, emit func(fetched) bool) {
	list := w.list
	if list == nil {
		list = w.source.ListPage
	}
	tokens := map[string]bool{}
	token := ""
	for n := 1; ; n++ {
		if n > w.maxPages {
			emit(fetched{err: fmt.Errorf("walk stopped after %d pages: more than MaxPages", w.maxPages)})
			return
		}
		page, st, err := list(ctx, token)
		if err != nil {
			emit(fetched{st: st, err: fmt.Errorf("walk page %d: %w", n, err)})
			return
		}
		if !emit(fetched{page: page, st: st}) || page.NextToken == "" {
			return
		}
		if tokens[page.NextToken] || page.NextToken == token {
			emit(fetched{err: fmt.Errorf("walk page %d: %w: the API returned NextToken %q again; stopped instead of looping",
				n, ErrTokenLoop, page.NextToken)})
			return
		}
		tokens[page.NextToken] = true
		token = page.NextToken
	}
}
