package diff

import (
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
)

// instanceClock keeps one instance's valid time monotonic across the events
// of an observation.
type instanceClock struct {
	now  time.Time
	last time.Time
}

// date picks the first source timestamp that is set, falls back to the
// observation time, and clamps to the instance's previous event.
func (c *instanceClock) date(candidates ...stamp) (time.Time, model.Evidence) {
	at, ev := c.now, model.EvidenceObserved
	for _, s := range candidates {
		if s.t != nil {
			at, ev = s.t.UTC(), s.evidence
			break
		}
	}
	if at.Before(c.last) {
		at, ev = c.last, ev+model.ClampedSuffix
	}
	c.last = at
	return at, ev
}

type stamp struct {
	t        *time.Time
	evidence model.Evidence
}

// instance appends the events for one observed instance: discovery, every
// lifecycle step between the known and the observed status, and changed
// details. It returns the events it appended.
func (b *builder) instance(prev *model.KnownInstance, obs model.Instance) ([]model.Event, error) {
	start := len(b.events)
	clock := instanceClock{now: b.now}
	var prevStatus model.Status
	details := model.DetailsOf(obs)
	if prev != nil {
		clock.last = prev.LastOccurredAt
		prevStatus = prev.Status
	} else {
		at, ev := clock.date(stamp{obs.CreationTime, model.EvidenceCreationTime})
		if err := b.add(model.Event{
			Type: model.EventInstanceDiscovered, InstanceID: obs.InstanceID, OccurredAt: at, Evidence: ev,
		}, model.InstanceDetail(obs), obs.Raw); err != nil {
			return nil, err
		}
	}

	for _, step := range b.lifecycle(prevStatus, obs) {
		at, ev := clock.date(step.when...)
		payload := map[string]any{"InvocationStatus": obs.Raw["InvocationStatus"]}
		if step.field != "" {
			payload[step.field] = obs.Raw[step.field]
		}
		// A step the observation skipped over is reconstructed: its payload
		// is the observation (which reports a later status), so the detail
		// says the step was inferred and from what.
		var detail any
		if step.to != obs.Status {
			detail = model.InferredStep{Inferred: true, ObservedStatus: obs.Status}
		}
		if err := b.add(model.Event{
			Type: model.EventInstanceStatusChanged, InstanceID: obs.InstanceID,
			FromStatus: step.from, ToStatus: step.to, OccurredAt: at, Evidence: ev,
		}, detail, payload); err != nil {
			return nil, err
		}
	}

	if prev != nil && !prev.Details.Equal(details) {
		at, ev := clock.date(stamp{obs.UpdateTime, model.EvidenceUpdateTime})
		if err := b.add(model.Event{
			Type: model.EventInstanceDetailsChanged, InstanceID: obs.InstanceID, OccurredAt: at, Evidence: ev,
		}, model.InstanceDetail(obs), obs.Raw); err != nil {
			return nil, err
		}
	}
	return b.events[start:], nil
}

// step is one status transition to emit, with the timestamps that may date it
// in order of preference.
type step struct {
	from, to model.Status
	field    string // the source field that dates it, copied into the payload
	when     []stamp
}

// lifecycle infers the transitions from prev ("" for none) to the observed
// status. Moving forward along the source's lifecycle (send-file: Pending →
// Running → final; commands: Pending or Scheduled → Running → Stopping →
// final), every skipped step is emitted and dated by its own timestamp
// (CreationTime, StartTime, StopTime, FinishTime), so an instance first
// seen finished gets its whole history. Any other change (backwards, between
// final statuses, to or from an undocumented status) is one transition
// dated by UpdateTime.
func (b *builder) lifecycle(prev model.Status, obs model.Instance) []step {
	to := obs.Status
	if prev == to {
		return nil
	}
	update := stamp{obs.UpdateTime, model.EvidenceUpdateTime}
	fromRank, toRank := b.rules.LifecycleRank(prev), b.rules.LifecycleRank(to)
	if toRank == 0 || toRank <= fromRank || (prev != "" && fromRank == 0) {
		s := step{from: prev, to: to, field: "UpdateTime", when: []stamp{update}}
		if b.rules.IsTerminal(to) {
			s.field, s.when = "FinishTime", []stamp{{obs.FinishTime, model.EvidenceFinishTime}, update}
		}
		if prev == "" {
			s.field, s.when = "CreationTime", []stamp{{obs.CreationTime, model.EvidenceCreationTime}, update}
		}
		return []step{s}
	}
	var steps []step
	from := prev
	for rank := fromRank + 1; rank <= toRank; rank++ {
		st, ok := b.stepAt(rank, to, obs, update)
		if !ok {
			continue
		}
		st.from = from
		steps = append(steps, st)
		from = st.to
	}
	return steps
}

// stepAt is the lifecycle step of the given rank on the way to the
// observed status to, or false when the observation shows the instance
// never passed through it.
func (b *builder) stepAt(rank int, to model.Status, obs model.Instance, update stamp) (step, bool) {
	last := rank == b.rules.LifecycleRank(to)
	switch {
	case last && b.rules.IsTerminal(to):
		return step{to: to, field: "FinishTime", when: []stamp{{obs.FinishTime, model.EvidenceFinishTime}, update}}, true
	case rank == 1:
		st := b.waiting
		if last {
			st = to
		}
		return step{to: st, field: "CreationTime", when: []stamp{{obs.CreationTime, model.EvidenceCreationTime}}}, true
	case rank == 2:
		// An instance that finished without a StartTime never ran
		// (Invalid, or aborted before start): no Running step.
		if obs.StartTime == nil && !last {
			return step{}, false
		}
		return step{to: model.StatusRunning, field: "StartTime",
			when: []stamp{{obs.StartTime, model.EvidenceStartTime}, update}}, true
	case rank == 3 && b.rules.Source != model.SourceSendFileResults && b.rules.Source != model.SourceEFLOSendFileResults:
		// A command stopped by its user while running passes through
		// Stopping at StopTime; one cancelled before it ran does not.
		if !last && (obs.StopTime == nil || obs.StartTime == nil) {
			return step{}, false
		}
		return step{to: model.StatusStopping, field: "StopTime",
			when: []stamp{{obs.StopTime, model.EvidenceStopTime}, update}}, true
	}
	return step{}, false
}

// waitingStatus is the status a task's instances wait in before they run:
// Scheduled for a command that repeats, else Pending.
func waitingStatus(rules model.Rules, obs model.Invocation) model.Status {
	switch obs.Attributes.RepeatMode {
	case "", "Once":
		return model.StatusPending
	}
	if rules.LifecycleRank(model.StatusScheduled) == 1 {
		return model.StatusScheduled
	}
	return model.StatusPending
}
