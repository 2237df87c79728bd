package ingest

import (
	"context"
	"errors"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/diff"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// recorder persists what a cycle observes. Every change goes through one
// page transaction that appends the events, updates the projections and
// records the run's progress, counting only what it wrote. Before it, the
// page is prepared outside any transaction: its known state loaded, diffed
// and rendered.
//
// With overlap, a listed page's transaction runs in the background while
// the walk prepares the next page, and the next page's transaction starts
// while it is still open (store.WithPageAfter): its events are chained
// after the tail the page before will leave, and written at once. Two
// transactions and the Go side of a third page share the machine instead of
// taking turns, which on a single target is what the database's one backend
// per transaction would otherwise limit. Transactions still commit one at a
// time, in order, each only after the one before it committed, so the chain
// and the log are exactly those of a serial walk. The next page's known
// state is loaded and its rows written while earlier pages' transactions
// are open, which is safe because they never share a send: a send is
// diffed once per run (seen), and a page's sends are marked seen as it is
// prepared.
type recorder struct {
	store  *store.Store
	target store.Target
	rules  model.Rules // the target source's statuses and aggregate rule
	// results, for a command source, reads run results and outputs.
	results runResulter
	run     *store.Run
	clock   func() time.Time
	seen    map[string]bool // invocations already diffed in this run
	// hashOnly: file bodies are not stored, only their hashes (in the events).
	hashOnly bool
	// progress, when set, is told the run's counts after every commit.
	progress func(store.Run)
	// widen: listed pages extend the run's range of listed creation times
	// (true for pages of the listing in its order, which coverage trusts).
	widen bool
	// overlap: a listed page commits in the background (see above).
	overlap bool
	// last and older are the pages whose transactions are in flight, the
	// latest listed and the one before it; failed keeps the first
	// background failure: every later call returns it, so a page whose
	// sends were marked seen but not stored can never end in a run that
	// looks complete.
	last, older *pageWrite
	failed      error
}

// pageWrite is one page's transaction running in the background.
type pageWrite struct {
	done     chan struct{}        // closed when the transaction has ended
	err      error                // its outcome, once done is closed
	tail     chan store.ChainTail // where it leaves the chain, once hashed
	progress store.Run            // the run's counts once it commits
}

// wait waits for the transaction to end and returns its error.
func (w *pageWrite) wait(ctx context.Context) error {
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// batch is what one page transaction persists.
type batch struct {
	observed []model.Invocation // records to diff against the known state
	expired  []string           // invocations a direct lookup confirmed gone
	at       time.Time          // when the source served what was observed
	// listing counts for the run: a listed page and its records, the calls
	// it took, and oversized records among those observed.
	pages, records, oversized int
	calls                     source.Stats
	// oldest and newest are the listed creation times the run's range
	// grows by when the page commits (widen).
	oldest, newest *time.Time
}

// written is what a page transaction actually wrote.
type written struct {
	events, expired, disagreements int
}

// prepared is a batch diffed against the known state and rendered: what its
// page transaction writes.
type prepared struct {
	b           batch
	events      []store.Rendered
	projections *store.Projections // the changed sends' projections
	bodies      []body             // file bodies and outputs to store
	w           written
}

// body is content an event refers to by its SHA-256.
type body struct{ sha256, content string }

// called counts an API call that produced nothing to persist.
func (r *recorder) called(st source.Stats) {
	r.settle()
	r.run.APICalls += st.Calls
	r.run.Retries += st.Retries
}

// listed persists one page of a listing. Records listed earlier in the run
// (the listing shifted, or the page repeats one) are not diffed again. The
// page is quiet when it held nothing new or changed and every send on it
// was finished: a head walk stops there.
func (r *recorder) listed(ctx context.Context, page source.Page, st source.Stats) (quiet bool, err error) {
	b := batch{at: r.observedAt(page), pages: 1, records: len(page.Invocations), calls: st}
	inPage := map[string]bool{}
	quiet = true
	for _, inv := range page.Invocations {
		if r.widen {
			b.widen(inv.Attributes.CreationTime)
		}
		quiet = quiet && r.rules.FinalAggregate(inv.ReportedStatus)
		if r.seen[inv.InvokeID] || inPage[inv.InvokeID] {
			continue
		}
		inPage[inv.InvokeID] = true
		b.observed = append(b.observed, inv)
		if len(inv.Content) > OversizedContentBytes || len(inv.Instances) > OversizedInstances {
			b.oversized++
		}
	}
	if !r.overlap {
		w, err := r.commit(ctx, b)
		return quiet && w.events == 0, err
	}
	pr, err := r.prepare(ctx, b)
	if err == nil {
		err = r.makeRoom()
	}
	if err != nil {
		return false, err
	}
	for id := range inPage {
		r.seen[id] = true
	}
	return quiet && pr.w.events == 0, r.launch(ctx, pr)
}

// makeRoom waits until at most one page transaction is in flight.
func (r *recorder) makeRoom() error {
	if w := r.older; w != nil {
		r.older = nil
		if err := w.wait(context.Background()); err != nil && r.failed == nil {
			r.failed = err
		}
	}
	return r.failed
}

// launch starts a prepared page's transaction in the background. While
// the page before it is still in flight, it is chained after that page's
// tail and overlaps its transaction (store.WithPageAfter), committing only
// once that one has.
func (r *recorder) launch(ctx context.Context, pr prepared) error {
	prev := r.last
	w := &pageWrite{done: make(chan struct{}), tail: make(chan store.ChainTail, 1)}
	var order store.PageOrder
	if prev == nil {
		w.progress = *r.run // nothing in flight writes it now
	} else {
		// The run's counts are the previous page's once it commits; it may
		// be writing them now.
		w.progress = prev.progress
		tail, err := prev.tailOrFailure()
		if err != nil {
			r.older, r.last = nil, nil
			if r.failed == nil {
				r.failed = err
			}
			return r.failed
		}
		order.After, order.Prev = &tail, prev.wait
	}
	order.TargetID, order.RunID = r.target.ID, w.progress.ID
	order.Tail = func(t store.ChainTail) { w.tail <- t }
	w.progress = advance(w.progress, pr)
	r.older, r.last = prev, w
	go func() {
		w.err = r.writeAfter(ctx, pr, order, w.progress)
		close(w.done)
	}()
	return nil
}

// tailOrFailure waits until the page has hashed its events and returns
// where it leaves the chain, or its error if it ended without getting that
// far.
func (w *pageWrite) tailOrFailure() (store.ChainTail, error) {
	select {
	case t := <-w.tail:
		return t, nil
	case <-w.done:
		select {
		case t := <-w.tail: // told its tail, then ended
			return t, nil
		default:
		}
		if w.err == nil {
			return store.ChainTail{}, errors.New("a page ended without placing its events on the chain")
		}
		return store.ChainTail{}, w.err
	}
}

// settle waits for the pages in flight, and returns the first background
// failure.
func (r *recorder) settle() error {
	for _, w := range []*pageWrite{r.older, r.last} {
		if w == nil {
			continue
		}
		if err := w.wait(context.Background()); err != nil && r.failed == nil {
			r.failed = err
		}
	}
	r.older, r.last = nil, nil
	return r.failed
}

// widen extends the batch's range of listed creation times.
func (b *batch) widen(ct *time.Time) {
	if ct == nil {
		return
	}
	if b.oldest == nil || ct.Before(*b.oldest) {
		b.oldest = ct
	}
	if b.newest == nil || ct.After(*b.newest) {
		b.newest = ct
	}
}

// commit prepares and writes one batch, after any background commit.
func (r *recorder) commit(ctx context.Context, b batch) (written, error) {
	if err := r.settle(); err != nil {
		return written{}, err
	}
	pr, err := r.prepare(ctx, b)
	if err != nil {
		return written{}, err
	}
	if err := r.write(ctx, pr); err != nil {
		return written{}, err
	}
	for _, inv := range pr.b.observed {
		r.seen[inv.InvokeID] = true
	}
	return pr.w, nil
}

// prepare loads the known state of a batch's sends, completes command
// runs, diffs and renders: everything but the writing.
func (r *recorder) prepare(ctx context.Context, b batch) (prepared, error) {
	ids := make([]string, 0, len(b.observed)+len(b.expired))
	for _, inv := range b.observed {
		ids = append(ids, inv.InvokeID)
	}
	ids = append(ids, b.expired...)
	known, err := r.store.Known(ctx, r.target.ID, ids)
	if err != nil {
		return prepared{}, err
	}
	if r.results != nil && len(b.observed) > 0 {
		if b, err = r.withRuns(ctx, b, known); err != nil {
			return prepared{}, err
		}
	}
	pr, changed, err := diffBatch(b, known, r.rules, !r.hashOnly)
	if err != nil {
		return pr, err
	}
	pr.projections, err = store.PlanProjections(r.target.ID, changed, r.rules.Aggregate)
	return pr, err
}

// write runs one prepared batch's page transaction. The run's counts
// change only when it commits, by what it wrote.
func (r *recorder) write(ctx context.Context, pr prepared) error {
	progress := advance(*r.run, pr)
	err := r.store.WithPage(ctx, r.target.ID, r.run.ID, func(p *store.Page) error { return pageWrites(ctx, p, pr, progress) })
	return r.committed(progress, err)
}

// writeAfter is write for a page overlapping the one before it (order).
func (r *recorder) writeAfter(ctx context.Context, pr prepared, order store.PageOrder, progress store.Run) error {
	err := r.store.WithPageAfter(ctx, order, func(p *store.Page) error { return pageWrites(ctx, p, pr, progress) })
	return r.committed(progress, err)
}

// committed records the run's counts after a page's transaction committed
// (err nil). Pages commit one at a time and in order, so the last to
// commit holds the run's counts.
func (r *recorder) committed(progress store.Run, err error) error {
	if err != nil {
		return err
	}
	*r.run = progress
	if r.progress != nil {
		r.progress(progress)
	}
	return nil
}

// pageWrites is what a page's transaction writes.
func pageWrites(ctx context.Context, p *store.Page, pr prepared, progress store.Run) error {
	for _, c := range pr.bodies {
		if err := p.SaveContent(ctx, c.sha256, c.content); err != nil {
			return err
		}
	}
	if err := p.AppendRendered(ctx, pr.events); err != nil {
		return err
	}
	if err := p.WriteProjections(ctx, pr.projections); err != nil {
		return err
	}
	return p.Progress(ctx, progress)
}

// advance returns the run's counts after a page: base plus what the page
// listed and wrote, its range of listed creation times widened.
func advance(base store.Run, pr prepared) store.Run {
	b := pr.b
	base.APICalls += b.calls.Calls
	base.Retries += b.calls.Retries
	base.Pages += b.pages
	base.Records += b.records
	base.Oversized += b.oversized
	base.Events += pr.w.events
	base.Expired += pr.w.expired
	base.Disagreements += pr.w.disagreements
	widenRange(&base.OldestListed, b.oldest, (*time.Time).Before)
	widenRange(&base.NewestListed, b.newest, (*time.Time).After)
	return base
}

// widenRange moves an end of the run's listed range to t when t lies
// beyond it.
func widenRange(end **time.Time, t *time.Time, beyond func(*time.Time, time.Time) bool) {
	if t != nil && (*end == nil || beyond(t, **end)) {
		*end = t
	}
}

// diffBatch diffs a batch against the known state of its sends (which it
// updates) and renders the events: a pure function of its input. It returns
// the sends that changed.
func diffBatch(b batch, known map[string]*model.KnownInvocation, rules model.Rules, saveContents bool) (
	pr prepared, changed []*model.KnownInvocation, err error) {
	pr.b = b
	var events []model.Event
	// A task observed more than once in the page (a repeating command's
	// runs) is one observation for the fold: its parts are applied as they
	// are diffed and counted once at the end.
	parts := map[*model.KnownInvocation][]model.Event{}
	for _, inv := range b.observed {
		k := known[inv.InvokeID]
		evs, err := diff.InvocationWith(rules, k, inv, b.at)
		if err != nil {
			return pr, nil, err
		}
		if len(evs) == 0 {
			continue
		}
		if k == nil {
			k = model.NewKnownInvocation(inv.InvokeID)
			known[inv.InvokeID] = k
		}
		if saveContents {
			pr.bodies = appendBodies(pr.bodies, k, inv)
		}
		if err := k.ApplyEvents(evs); err != nil {
			return pr, nil, err
		}
		if parts[k] == nil {
			changed = append(changed, k)
		}
		parts[k] = append(parts[k], evs...)
		events = append(events, evs...)
	}
	for _, k := range changed {
		before := k.Disagreements
		k.CountObservation(parts[k])
		pr.w.disagreements += int(k.Disagreements - before)
	}
	for _, id := range b.expired {
		ev, k, err := expire(&pr.w, known[id], b.at)
		if err != nil {
			return pr, nil, err
		}
		if k != nil {
			events, changed = append(events, ev), append(changed, k)
		}
	}
	pr.w.events = len(events)
	pr.events, err = store.Render(events)
	return pr, changed, err
}

// expire records the confirmed expiry of a send the archive knows and has
// not seen expire yet; it returns no state for one it does not.
func expire(w *written, k *model.KnownInvocation, at time.Time) (model.Event, *model.KnownInvocation, error) {
	if k == nil || k.ExpiredAt != nil {
		return model.Event{}, nil, nil // gone before the archive knew it, or already recorded
	}
	ev, err := diff.Expired(k, at)
	if err != nil {
		return ev, nil, err
	}
	before := k.Disagreements
	if err := k.Apply([]model.Event{ev}); err != nil {
		return ev, nil, err
	}
	w.disagreements += int(k.Disagreements - before)
	w.expired++
	return ev, k, nil
}

// observedAt dates a response by the source's clock when it says, else ours.
func (r *recorder) observedAt(page source.Page) time.Time {
	if !page.ServedAt.IsZero() {
		return page.ServedAt
	}
	return r.clock().UTC()
}

// appendBodies adds what an observation carries that events keep only by
// hash: the file body or script, and each command run's output, once per
// SHA-256 (the page stores each once).
func appendBodies(bodies []body, k *model.KnownInvocation, inv model.Invocation) []body {
	if k.Attributes.ContentSHA256 != inv.Attributes.ContentSHA256 {
		bodies = append(bodies, body{inv.Attributes.ContentSHA256, inv.Content})
	}
	for _, in := range inv.Instances {
		if in.OutputSHA256 == "" {
			continue
		}
		if prev := k.Instances[in.InstanceID]; prev != nil && prev.Details.OutputSHA256 == in.OutputSHA256 {
			continue
		}
		bodies = append(bodies, body{in.OutputSHA256, in.Output})
	}
	return bodies
}
