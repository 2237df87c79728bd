package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

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

// Source is what a cycle needs from the API; *source.Client implements it.
type Source interface {
	ListPage(ctx context.Context, nextToken string) (source.Page, source.Stats, error)
	ListStatus(ctx context.Context, status model.Status, nextToken string) (source.Page, source.Stats, error)
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
	// ReadAhead is how many pages the walk fetches ahead of the page being
	// stored (default 1; negative: none, each page fetched after the last
	// was stored). One page is enough to overlap the API's latency with
	// the page transaction; more only holds more memory.
	ReadAhead int
	// Progress, when set, is told the run's counts (pages, records, events…)
	// after every page transaction commits: a backfill of thousands of
	// pages shows how far it has come.
	Progress func(store.Run)
	// HashOnlyContents keeps only the SHA-256 of file contents, never the
	// bodies, for sites that must not store what was pushed.
	HashOnlyContents bool
	// ReconcileEvery is how often the whole listing is walked (DESIGN.md
	// §12); the cycles between walk only its head and the unfinished
	// sends. 0: every cycle walks the whole listing.
	ReconcileEvery time.Duration
	Logger         *slog.Logger
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

	run := store.Run{TargetID: c.Target.ID, StartedAt: c.Clock().UTC(), Outcome: model.RunRunning}
	if run.ID, err = c.Store.StartRun(ctx, c.Target.ID, run.StartedAt); err != nil {
		return run, err
	}
	rules, err := model.RulesFor(c.Target.Source)
	if err != nil {
		return store.Run{}, fmt.Errorf("%s: %w", c.Target, err)
	}
	rec := &recorder{store: c.Store, target: c.Target, rules: rules, run: &run, clock: c.Clock, seen: map[string]bool{},
		hashOnly: c.HashOnlyContents, progress: c.Progress, widen: true, overlap: c.ReadAhead > 0}
	if rr, ok := c.Source.(runResulter); ok && rules.Source == model.SourceCommands {
		rec.results = rr
	}
	err = c.walk(ctx, rec, &run)
	finished := c.Clock().UTC()
	run.FinishedAt = &finished
	run.Outcome = model.RunOK
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutdown, not a fault of the source: the page in flight rolled back
		// and the next cycle picks up from what was committed.
		run.Outcome, run.Error = model.RunInterrupted, err.Error()
	case err != nil:
		run.Outcome, run.Error = model.RunFailed, err.Error()
	}
	// Record the outcome even when the caller's context is gone (shutdown).
	if ferr := c.Store.FinishRun(context.WithoutCancel(ctx), run); ferr != nil && err == nil {
		err = ferr
	}
	return run, err
}

// walk runs the cycle's walk, a head walk or a full one, and marks the run
// complete when the walk reached its end.
func (c *Cycle) walk(ctx context.Context, rec *recorder, run *store.Run) error {
	head, history, err := c.walkChoice(ctx, run.StartedAt)
	if err != nil {
		return err
	}
	walk := fullWalk{source: c.Source, maxPages: c.MaxPages, maxRestarts: c.MaxRestarts, readAhead: c.ReadAhead,
		logger: c.Logger, target: c.Target}
	if head {
		run.HeadWalk = true
		unfinished, err := c.Store.UnfinishedInvocations(ctx, c.Target.ID, rec.rules.FinalAggregate)
		if err != nil {
			return err
		}
		err = (&headWalk{base: walk, unfinished: unfinished, filterable: rec.rules.Unfinished}).run(ctx, rec)
		if err := settled(rec, err); err != nil {
			return err
		}
		run.CompleteWalk = true
		return nil
	}
	if err := settled(rec, walk.run(ctx, rec)); err != nil {
		return err
	}
	run.CompleteWalk = true
	if err := confirmExpiries(ctx, c.Source, rec); err != nil {
		return err
	}
	return c.checkMisses(ctx, run, history)
}

// settled waits for the recorder's last page to commit: a walk is over only
// once everything it listed is stored. A failed commit is the walk's error
// unless the walk failed first.
func settled(rec *recorder, err error) error {
	if serr := rec.settle(); err == nil {
		err = serr
	}
	return err
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
	if c.ReadAhead == 0 {
		c.ReadAhead = 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}
