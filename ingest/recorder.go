package ingest

import (
	"context"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/diff"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// recorder persists what a cycle observes. Every change goes through
// commit: one page transaction that loads the known state, diffs, appends,
// updates the projections and records the run's progress, counting only what
// it wrote.
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
}

// written is what a page transaction actually wrote.
type written struct {
	events, expired, disagreements int
}

// called counts an API call that produced nothing to persist.
func (r *recorder) called(st source.Stats) {
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
			r.widenListed(inv.Attributes.CreationTime)
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
	w, err := r.commit(ctx, b)
	return quiet && w.events == 0, err
}

// widenListed extends the run's range of listed creation times, which
// coverage is computed from.
func (r *recorder) widenListed(ct *time.Time) {
	if ct == nil {
		return
	}
	if r.run.OldestListed == nil || ct.Before(*r.run.OldestListed) {
		r.run.OldestListed = ct
	}
	if r.run.NewestListed == nil || ct.After(*r.run.NewestListed) {
		r.run.NewestListed = ct
	}
}

// commit writes one batch in one page transaction. The run's counts change
// only when the transaction commits, by what it wrote.
func (r *recorder) commit(ctx context.Context, b batch) (written, error) {
	if r.results != nil && len(b.observed) > 0 {
		var err error
		if b, err = r.withRuns(ctx, b); err != nil {
			return written{}, err
		}
	}
	progress := *r.run
	progress.APICalls += b.calls.Calls
	progress.Retries += b.calls.Retries
	progress.Pages += b.pages
	progress.Records += b.records
	progress.Oversized += b.oversized
	var w written
	err := r.store.WithPage(ctx, r.target.ID, r.run.ID, func(p *store.Page) error {
		var err error
		if w, err = persist(ctx, p, b, r.rules, !r.hashOnly); err != nil {
			return err
		}
		progress.Events += w.events
		progress.Expired += w.expired
		progress.Disagreements += w.disagreements
		return p.Progress(ctx, progress)
	})
	if err != nil {
		return written{}, err
	}
	*r.run = progress
	for _, inv := range b.observed {
		r.seen[inv.InvokeID] = true
	}
	if r.progress != nil {
		r.progress(progress)
	}
	return w, nil
}

// persist diffs a batch against the known state inside a page transaction
// and writes the events, file contents, command outputs and projections.
func persist(ctx context.Context, p *store.Page, b batch, rules model.Rules, saveContents bool) (written, error) {
	var w written
	ids := make([]string, 0, len(b.observed)+len(b.expired))
	for _, inv := range b.observed {
		ids = append(ids, inv.InvokeID)
	}
	ids = append(ids, b.expired...)
	known, err := p.Known(ctx, ids)
	if err != nil {
		return w, err
	}
	var events []model.Event
	var changed []*model.KnownInvocation
	apply := func(k *model.KnownInvocation, evs []model.Event) error {
		before := k.Disagreements
		if err := k.Apply(evs); err != nil {
			return err
		}
		w.disagreements += int(k.Disagreements - before)
		events = append(events, evs...)
		changed = append(changed, k)
		return nil
	}
	// A task observed more than once in the page (a repeating command's
	// runs) is one observation for the fold: its parts are applied as they
	// are diffed and counted once at the end.
	parts := map[*model.KnownInvocation][]model.Event{}
	for _, inv := range b.observed {
		k := known[inv.InvokeID]
		evs, err := diff.InvocationWith(rules, k, inv, b.at)
		if err != nil {
			return w, err
		}
		if len(evs) == 0 {
			continue
		}
		if k == nil {
			k = model.NewKnownInvocation(inv.InvokeID)
			known[inv.InvokeID] = k
		}
		if saveContents {
			if err := saveBodies(ctx, p, k, inv); err != nil {
				return w, err
			}
		}
		if err := k.ApplyEvents(evs); err != nil {
			return w, err
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
		w.disagreements += int(k.Disagreements - before)
	}
	for _, id := range b.expired {
		k := known[id]
		if k == nil || k.ExpiredAt != nil {
			continue // gone before the archive knew it, or already recorded
		}
		ev, err := diff.Expired(k, b.at)
		if err != nil {
			return w, err
		}
		if err := apply(k, []model.Event{ev}); err != nil {
			return w, err
		}
		w.expired++
	}
	if err := p.Append(ctx, events); err != nil {
		return w, err
	}
	w.events = len(events)
	return w, p.SaveProjections(ctx, changed)
}

// observedAt dates a response by the source's clock when it says, else ours.
func (r *recorder) observedAt(page source.Page) time.Time {
	if !page.ServedAt.IsZero() {
		return page.ServedAt
	}
	return r.clock().UTC()
}

// saveBodies stores what an observation carries that events keep only by
// hash: the file body or script, and each command run's output, once per
// SHA-256.
func saveBodies(ctx context.Context, p *store.Page, k *model.KnownInvocation, inv model.Invocation) error {
	if k.Attributes.ContentSHA256 != inv.Attributes.ContentSHA256 {
		if err := p.SaveContent(ctx, inv.Attributes.ContentSHA256, inv.Content); err != nil {
			return err
		}
	}
	for _, in := range inv.Instances {
		if in.OutputSHA256 == "" {
			continue
		}
		if prev := k.Instances[in.InstanceID]; prev != nil && prev.Details.OutputSHA256 == in.OutputSHA256 {
			continue
		}
		if err := p.SaveContent(ctx, in.OutputSHA256, in.Output); err != nil {
			return err
		}
	}
	return nil
}
