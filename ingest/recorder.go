package ingest

import (
	"context"
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
// the walk prepares the next page, so the Go side of one page and the
// database side of the other share the machine instead of taking turns.
// Transactions still commit one at a time, in order, so the chain and the
// log are exactly those of a serial walk. The next page's known state is
// loaded while the previous page's transaction is open, which is safe
// because the two never share a send: a send is diffed once per run
// (seen), and a page's sends are marked seen as it is prepared.
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
	// inflight delivers the result of the background commit, if one runs;
	// failed keeps the first background failure: every later call returns
	// it, so a page whose sends were marked seen but not stored can never
	// end in a run that looks complete.
	inflight chan error
	failed   error
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
		err = r.settle()
	}
	if err != nil {
		return false, err
	}
	for id := range inPage {
		r.seen[id] = true
	}
	r.inflight = make(chan error, 1)
	go func() { r.inflight <- r.write(ctx, pr) }()
	return quiet && pr.w.events == 0, nil
}

// settle waits for the background commit, if one runs, and returns the
// first background failure.
func (r *recorder) settle() error {
	if r.inflight != nil {
		if err := <-r.inflight; err != nil && r.failed == nil {
			r.failed = err
		}
		r.inflight = nil
	}
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
	progress := *r.run
	b := pr.b
	progress.APICalls += b.calls.Calls
	progress.Retries += b.calls.Retries
	progress.Pages += b.pages
	progress.Records += b.records
	progress.Oversized += b.oversized
	progress.Events += pr.w.events
	progress.Expired += pr.w.expired
	progress.Disagreements += pr.w.disagreements
	err := r.store.WithPage(ctx, r.target.ID, r.run.ID, func(p *store.Page) error {
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
	})
	if err != nil {
		return err
	}
	widenRange(&progress.OldestListed, b.oldest, (*time.Time).Before)
	widenRange(&progress.NewestListed, b.newest, (*time.Time).After)
	*r.run = progress
	if r.progress != nil {
		r.progress(progress)
	}
	return nil
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
