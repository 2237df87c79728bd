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

// MaxTrackedMisses is how many polls in a row may answer without a task
// that was never found before it is given up as not found. Automation
// registers a task as it starts it, and the regional API may not serve it
// at once; cycles run minutes apart, so five polls outlast any such lag,
// while a mistyped id (or a wrong region or account) stops costing API
// calls soon after.
const MaxTrackedMisses = 5

// TrackedSource is what polling a tracked source needs: one task by id.
// *source.TrackedClient implements it.
type TrackedSource interface {
	Lookup(ctx context.Context, invokeID string) (source.Page, source.Stats, error)
}

// Tracker is one cycle over a tracked target (DESIGN.md §11): every task
// registered in archive.tracked and not finished is looked up once, what
// the source says is recorded like a listed page, and each task's polling
// state moves on. A task whose overall status is final gets one more,
// confirming, poll; then it is done.
type Tracker struct {
	Store  *store.Store
	Target store.Target
	Source TrackedSource
	// Clock dates a poll when the answer carries no Date header (default
	// time.Now).
	Clock func() time.Time
	// HashOnlyContents: see Cycle.
	HashOnlyContents bool
	// Progress, when set, is told the run's counts after each recorded poll.
	Progress func(store.Run)
	Logger   *slog.Logger
}

// Run polls the target's unfinished tasks and returns the recorded run. A
// target whose lease is held elsewhere returns ErrLeaseHeld and records no
// run. A task whose poll fails is logged and counted, the other tasks are
// polled all the same, and the run then ends failed.
func (tr *Tracker) Run(ctx context.Context) (store.Run, error) {
	if tr.Clock == nil {
		tr.Clock = time.Now
	}
	if tr.Logger == nil {
		tr.Logger = slog.New(slog.DiscardHandler)
	}
	rules, err := model.RulesFor(tr.Target.Source)
	if err != nil {
		return store.Run{}, fmt.Errorf("%s: %w", tr.Target, err)
	}
	lease, ok, err := tr.Store.TryLease(ctx, tr.Target.ID)
	if err != nil {
		return store.Run{}, err
	}
	if !ok {
		return store.Run{}, ErrLeaseHeld
	}
	defer lease.Release(context.WithoutCancel(ctx))

	run := store.Run{TargetID: tr.Target.ID, StartedAt: tr.Clock().UTC(), Outcome: model.RunRunning}
	if run.ID, err = tr.Store.StartRun(ctx, tr.Target.ID, run.StartedAt); err != nil {
		return run, err
	}
	// widen is false: a poll by id says nothing about what a listing
	// would have shown, so it proves no coverage.
	rec := &recorder{store: tr.Store, target: tr.Target, rules: rules, run: &run, clock: tr.Clock, seen: map[string]bool{},
		hashOnly: tr.HashOnlyContents, progress: tr.Progress}
	err = tr.pollAll(ctx, rec)
	finished := tr.Clock().UTC()
	run.FinishedAt = &finished
	run.Outcome = model.RunOK
	switch {
	case err != nil && ctx.Err() != nil:
		run.Outcome, run.Error = model.RunInterrupted, err.Error()
	case err != nil:
		run.Outcome, run.Error = model.RunFailed, err.Error()
	}
	if ferr := tr.Store.FinishRun(context.WithoutCancel(ctx), run); ferr != nil && err == nil {
		err = ferr
	}
	return run, err
}

// pollAll polls every task still to poll. One task's failure does not
// keep the others from being polled; shutdown does.
func (tr *Tracker) pollAll(ctx context.Context, rec *recorder) error {
	tasks, err := tr.Store.TrackedToPoll(ctx, tr.Target.ID)
	if err != nil {
		return err
	}
	var failed []error
	for _, task := range tasks {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := tr.poll(ctx, rec, task)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return err
		default:
			tr.Logger.Warn("a tracked task could not be polled; the next cycle polls it again",
				"target", tr.Target.String(), "invoke_id", task.InvokeID, "error", err)
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d tracked tasks could not be polled (the next cycle polls them again): %w",
			len(failed), len(tasks), errors.Join(failed...))
	}
	return nil
}

// poll looks one task up, records what the source says (its events, or
// its expiry when a task seen before is gone) and moves its polling state
// on.
func (tr *Tracker) poll(ctx context.Context, rec *recorder, task store.TrackedTask) error {
	page, st, err := tr.Source.Lookup(ctx, task.InvokeID)
	if err != nil {
		rec.called(st)
		return fmt.Errorf("poll %s: %w", task.InvokeID, err)
	}
	var found *model.Invocation
	for i := range page.Invocations {
		if page.Invocations[i].InvokeID == task.InvokeID {
			found = &page.Invocations[i]
			break
		}
	}
	at := rec.observedAt(page)
	b := batch{at: at, calls: st, pages: 1}
	switch {
	case found != nil:
		b.observed, b.records = []model.Invocation{*found}, 1
	case task.FoundAt != nil:
		b.expired = []string{task.InvokeID}
	}
	if b.observed == nil && b.expired == nil {
		rec.called(st)
	} else if _, err := rec.commit(ctx, b); err != nil {
		return fmt.Errorf("record poll of %s: %w", task.InvokeID, err)
	}
	next := nextPoll(task, found, rec.rules, at)
	tr.report(next)
	return tr.Store.RecordPoll(ctx, next)
}

// nextPoll is where a task stands after a poll that found inv (nil: the
// answer did not hold it), served at at. It is pure: the whole polling
// policy is here.
func nextPoll(t store.TrackedTask, inv *model.Invocation, rules model.Rules, at time.Time) store.TrackedTask {
	t.Polls++
	t.LastPolledAt = &at
	finish := func(s store.TrackedState) { t.State, t.FinishedAt = s, &at }
	switch {
	case inv != nil:
		t.Misses = 0
		if t.FoundAt == nil {
			t.FoundAt = &at
		}
		t.LastStatus = inv.ReportedStatus
		switch {
		case !finalAggregate(rules, inv):
			t.State = store.TrackedPolling // not final (again): keep polling
		case t.State == store.TrackedConfirming:
			finish(store.TrackedDone)
		default:
			t.State = store.TrackedConfirming
		}
	case t.FoundAt != nil:
		finish(store.TrackedExpired)
	default:
		t.Misses++
		if t.Misses >= MaxTrackedMisses {
			finish(store.TrackedNotFound)
		}
	}
	return t
}

// finalAggregate reports whether the task's overall status is final: the
// one the source reports, or, when it reports none, the one its rule
// derives from the instances.
func finalAggregate(rules model.Rules, inv *model.Invocation) bool {
	if inv.ReportedStatus != "" {
		return rules.FinalAggregate(inv.ReportedStatus)
	}
	statuses := make([]model.Status, 0, len(inv.Instances))
	for _, in := range inv.Instances {
		statuses = append(statuses, in.Status)
	}
	return rules.FinalAggregate(rules.Aggregate(statuses))
}

// report logs a task whose polling stopped without it finishing: once,
// since it is never polled again.
func (tr *Tracker) report(t store.TrackedTask) {
	account := tr.Target.Account
	if account == "" {
		account = "(unnamed)"
	}
	switch t.State {
	case store.TrackedNotFound:
		tr.Logger.Warn(fmt.Sprintf("tracked task %s was not found by %d polls of account %s, region %s, source %s, so it is no longer polled: check the id, region and account it was registered with",
			t.InvokeID, t.Polls, account, tr.Target.Region, tr.Target.Source), "target", tr.Target.String(), "invoke_id", t.InvokeID)
	case store.TrackedExpired:
		tr.Logger.Warn(fmt.Sprintf("tracked task %s of account %s, region %s, source %s is no longer served by the source; it is recorded as expired and no longer polled",
			t.InvokeID, account, tr.Target.Region, tr.Target.Source), "target", tr.Target.String(), "invoke_id", t.InvokeID)
	}
}

// tracked polls a tracked source's unfinished tasks (DESIGN.md §11).
func (r *Runner) tracked(ctx context.Context, target store.Target, api source.Options, logger *slog.Logger) (store.Run, error) {
	src, err := source.NewTrackedClient(target.Source, target.Region, api)
	if err != nil {
		return store.Run{}, err
	}
	tr := &Tracker{Store: r.Store, Target: target, Source: src, Clock: r.Clock, Logger: logger, HashOnlyContents: r.HashOnlyContents}
	if r.Progress != nil {
		tr.Progress = func(run store.Run) { r.Progress(target, run) }
	}
	return tr.Run(ctx)
}
