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
	listed(ctx context.Context, page source.Page, st source.Stats) error
	called(st source.Stats) // a call that produced no page
}

// fullWalk lists every page of the source from the first, following
// NextToken to the end. It is one walking strategy; the sink does not care
// which strategy produced a page.
type fullWalk struct {
	source      Source
	maxPages    int
	maxRestarts int
	logger      *slog.Logger
	target      store.Target
}

// run walks every page, restarting from the first page (bounded) when the
// API rejects a token or repeats one.
func (w *fullWalk) run(ctx context.Context, sink pageSink) error {
	for restarts := 0; ; restarts++ {
		err := w.pages(ctx, sink)
		if (errors.Is(err, source.ErrBadToken) || errors.Is(err, ErrTokenLoop)) && restarts < w.maxRestarts && ctx.Err() == nil {
			// A rejected or repeating token ends this walk, not the cycle:
			// start over; what was already committed is not diffed again.
			w.logger.Warn("restarting the walk", "target", w.target.String(), "restart", restarts+1, "reason", err)
			continue
		}
		if err != nil && restarts > 0 {
			return fmt.Errorf("after %d restarts: %w", restarts, err)
		}
		return err
	}
}

func (w *fullWalk) pages(ctx context.Context, sink pageSink) error {
	tokens := map[string]bool{}
	token := ""
	for n := 1; ; n++ {
		if n > w.maxPages {
			return fmt.Errorf("walk stopped after %d pages: more than MaxPages", w.maxPages)
		}
		page, st, err := w.source.ListPage(ctx, token)
		if err != nil {
			sink.called(st)
			return fmt.Errorf("walk page %d: %w", n, err)
		}
		if err := sink.listed(ctx, page, st); err != nil {
			return fmt.Errorf("store page %d: %w", n, err)
		}
		if page.NextToken == "" {
			return nil
		}
		if tokens[page.NextToken] || page.NextToken == token {
			return fmt.Errorf("walk page %d: %w: the API returned NextToken %q again; stopped instead of looping",
				n, ErrTokenLoop, page.NextToken)
		}
		tokens[page.NextToken] = true
		token = page.NextToken
	}
}
