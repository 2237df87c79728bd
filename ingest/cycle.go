package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/diff"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// Oversized thresholds: records beyond them are archived like any other but
// counted, so an operator can see what is driving memory and page size.
const (
	OversizedContentBytes = 256 << 10
	OversizedInstances    = 1000
)

// ErrLeaseHeld means another archiver is working the target right now.
var ErrLeaseHeld = errors.New("another archiver holds this target's lease")

// ErrTokenLoop means the API handed back a NextToken it had already given in
// the same walk: following it would never end.
var ErrTokenLoop = errors.New("pagination token repeated")

// Source is what a cycle needs from the API; *source.Client implements it.
type Source interface {
	Region() string
	ListPage(ctx context.Context, nextToken string) (source.Page, source.Stats, error)
	Lookup(ctx context.Context, invokeID string) (source.Page, source.Stats, error)
}

// Cycle is one ingest cycle's configuration for one target.
type Cycle struct {
	Store  *store.Store
	Target store.Target
	Source Source
	// Clock dates observations when the source's response carries no Date
	// header (default time.Now).
	Clock func() time.Time
	// MaxPages bounds one walk (default 100,000 pages = 5M records).
	MaxPages int
	// MaxRestarts bounds how often a walk restarts after the API rejects its
	// pagination token (default 3).
	MaxRestarts int
	Logger      *slog.Logger
}

// Run performs the cycle and returns the recorded run. A target whose lease is
// held elsewhere returns ErrLeaseHeld and records no run.
func (c *Cycle) Run(ctx context.Context) (store.Run, error) {
	c.defaults()
	lease, ok, err := c.Store.TryLease(ctx, c.Target.ID)
	if err != nil {
		return store.Run{}, err
	}
	if !ok {
		return store.Run{}, ErrLeaseHeld
	}
	defer lease.Release(context.WithoutCancel(ctx))

	run := store.Run{TargetID: c.Target.ID, StartedAt: c.Clock().UTC(), Outcome: "running"}
	if run.ID, err = c.Store.StartRun(ctx, c.Target.ID, run.StartedAt); err != nil {
		return run, err
	}
	w := &walk{cycle: c, run: &run, seen: map[string]bool{}}
	err = w.all(ctx)
	if err == nil {
		run.CompleteWalk = true
		err = w.expire(ctx)
	}
	finished := c.Clock().UTC()
	run.FinishedAt = &finished
	run.Outcome = "ok"
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutdown, not a fault of the source: the page in flight rolled back
		// and the next cycle picks up from what was committed.
		run.Outcome, run.Error = "interrupted", err.Error()
	case err != nil:
		run.Outcome, run.Error = "failed", err.Error()
	}
	// Record the outcome even when the caller's context is gone (shutdown).
	if ferr := c.Store.FinishRun(context.WithoutCancel(ctx), run); ferr != nil && err == nil {
		err = ferr
	}
	return run, err
}

func (c *Cycle) defaults() {
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.MaxPages == 0 {
		c.MaxPages = 100_000
	}
	if c.MaxRestarts == 0 {
		c.MaxRestarts = 3
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// walk is the state of one run's walk over the listing.
type walk struct {
	cycle *Cycle
	run   *store.Run
	seen  map[string]bool // invocations already diffed in this run
}

func (w *walk) count(st source.Stats) {
	w.run.APICalls += st.Calls
	w.run.Retries += st.Retries
}

// all walks every page, restarting from the first page (bounded) when the API
// rejects a token; invocations already seen in this run are not diffed twice.
func (w *walk) all(ctx context.Context) error {
	for restarts := 0; ; restarts++ {
		err := w.pages(ctx)
		if (errors.Is(err, source.ErrBadToken) || errors.Is(err, ErrTokenLoop)) && restarts < w.cycle.MaxRestarts && ctx.Err() == nil {
			// A rejected or repeating token ends this walk, not the cycle:
			// start over; what was already committed is not diffed again.
			w.cycle.Logger.Warn("restarting the walk", "target", w.cycle.Target.String(), "restart", restarts+1, "reason", err)
			continue
		}
		if err != nil && restarts > 0 {
			return fmt.Errorf("after %d restarts: %w", restarts, err)
		}
		return err
	}
}

func (w *walk) pages(ctx context.Context) error {
	tokens := map[string]bool{}
	token := ""
	for n := 1; ; n++ {
		if n > w.cycle.MaxPages {
			return fmt.Errorf("walk stopped after %d pages: more than MaxPages", w.cycle.MaxPages)
		}
		page, st, err := w.cycle.Source.ListPage(ctx, token)
		w.count(st)
		if err != nil {
			return fmt.Errorf("walk page %d: %w", n, err)
		}
		if err := w.page(ctx, page); err != nil {
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

// page diffs one page against the store and commits its events, file
// contents, projections and run progress in one transaction.
func (w *walk) page(ctx context.Context, page source.Page) error {
	observed := w.observedAt(page)
	var fresh []model.Invocation
	inPage := map[string]bool{}
	for _, inv := range page.Invocations {
		if ct := inv.Attributes.CreationTime; ct != nil {
			if w.run.OldestListed == nil || ct.Before(*w.run.OldestListed) {
				w.run.OldestListed = ct
			}
			if w.run.NewestListed == nil || ct.After(*w.run.NewestListed) {
				w.run.NewestListed = ct
			}
		}
		if w.seen[inv.InvokeID] || inPage[inv.InvokeID] {
			continue // listed again (the listing shifted, or the page repeats it)
		}
		inPage[inv.InvokeID] = true
		fresh = append(fresh, inv)
	}
	progress := *w.run
	progress.Pages++
	progress.Records += len(page.Invocations)
	for _, inv := range fresh {
		if len(inv.Content) > OversizedContentBytes || len(inv.Instances) > OversizedInstances {
			progress.Oversized++
		}
	}
	err := w.cycle.Store.WithPage(ctx, w.cycle.Target.ID, w.run.ID, func(p *store.Page) error {
		n, disagreements, err := w.apply(ctx, p, fresh, observed)
		if err != nil {
			return err
		}
		progress.Events += n
		progress.Disagreements += disagreements
		return p.Progress(ctx, progress)
	})
	if err != nil {
		return err
	}
	*w.run = progress
	for _, inv := range fresh {
		w.seen[inv.InvokeID] = true
	}
	return nil
}

// apply runs the diff for each observed invocation inside a page transaction
// and writes the result. It returns the number of events appended and of
// observations after which derived and reported aggregates disagreed.
func (w *walk) apply(ctx context.Context, p *store.Page, observed []model.Invocation, at time.Time) (int, int, error) {
	ids := make([]string, len(observed))
	for i, inv := range observed {
		ids[i] = inv.InvokeID
	}
	known, err := p.Known(ctx, ids)
	if err != nil {
		return 0, 0, err
	}
	var events []model.Event
	var changed []*model.KnownInvocation
	disagreements := 0
	for _, inv := range observed {
		k := known[inv.InvokeID]
		evs, err := diff.Invocation(k, inv, at)
		if err != nil {
			return 0, 0, err
		}
		if len(evs) == 0 {
			continue
		}
		if k == nil {
			k = model.NewKnownInvocation(inv.InvokeID)
		}
		if k.Attributes.ContentSHA256 != inv.Attributes.ContentSHA256 {
			if err := p.SaveContent(ctx, inv.Attributes.ContentSHA256, inv.Content); err != nil {
				return 0, 0, err
			}
		}
		before := k.Disagreements
		if err := k.Apply(evs); err != nil {
			return 0, 0, err
		}
		disagreements += int(k.Disagreements - before)
		events = append(events, evs...)
		changed = append(changed, k)
	}
	if err := p.Append(ctx, events); err != nil {
		return 0, 0, err
	}
	if err := p.SaveProjections(ctx, changed); err != nil {
		return 0, 0, err
	}
	return len(events), disagreements, nil
}

func (w *walk) observedAt(page source.Page) time.Time {
	if !page.ServedAt.IsZero() {
		return page.ServedAt
	}
	return w.cycle.Clock().UTC()
}

// expire runs after a complete walk: every live invocation the walk did not
// list is looked up directly, and recorded as expired only if the source
// confirms it is gone. One that turns up after all is diffed as usual.
func (w *walk) expire(ctx context.Context) error {
	live, err := w.cycle.Store.KnownInvocations(ctx, w.cycle.Target.ID)
	if err != nil {
		return err
	}
	for _, id := range live {
		if w.seen[id] {
			continue
		}
		page, st, err := w.cycle.Source.Lookup(ctx, id)
		w.count(st)
		if err != nil {
			return fmt.Errorf("confirm expiry of %s: %w", id, err)
		}
		var found []model.Invocation
		for _, inv := range page.Invocations {
			if inv.InvokeID == id {
				found = append(found, inv)
			}
		}
		if len(found) > 0 {
			if err := w.page(ctx, source.Page{Invocations: found[:1], ServedAt: page.ServedAt}); err != nil {
				return fmt.Errorf("store looked-up %s: %w", id, err)
			}
			continue
		}
		at := w.observedAt(page)
		err = w.cycle.Store.WithPage(ctx, w.cycle.Target.ID, w.run.ID, func(p *store.Page) error {
			known, err := p.Known(ctx, []string{id})
			if err != nil {
				return err
			}
			k := known[id]
			if k == nil || k.ExpiredAt != nil {
				return nil
			}
			ev, err := diff.Expired(k, at)
			if err != nil {
				return err
			}
			if err := k.Apply([]model.Event{ev}); err != nil {
				return err
			}
			if err := p.Append(ctx, []model.Event{ev}); err != nil {
				return err
			}
			return p.SaveProjections(ctx, []*model.KnownInvocation{k})
		})
		if err != nil {
			return fmt.Errorf("record expiry of %s: %w", id, err)
		}
		w.run.Expired++
		w.run.Events++
	}
	return nil
}
