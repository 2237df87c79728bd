// Package diff turns one observed DescribeSendFileResults record and what the
// archive already knows about it into the events that describe the change.
//
// It is a pure function of (known state, observation, observation time): no
// I/O, no clock, no randomness. That is what lets a crashed cycle be re-run and
// produce exactly the events an uninterrupted one would have, and what lets
// property tests exercise it without a database.
package diff

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
)

// Invocation returns the events that take known (nil for an invocation never
// seen before) to the observed send-file record, numbered from
// known.LastSeq+1. An observation that carries nothing new yields no events.
func Invocation(known *model.KnownInvocation, obs model.Invocation, now time.Time) ([]model.Event, error) {
	rules, err := model.RulesFor(model.SourceSendFileResults)
	if err != nil {
		return nil, err
	}
	return InvocationWith(rules, known, obs, now)
}

// InvocationWith is Invocation for a record of the source whose rules are
// given: its statuses' lifecycle decides which skipped steps are inferred.
func InvocationWith(rules model.Rules, known *model.KnownInvocation, obs model.Invocation, now time.Time) ([]model.Event, error) {
	b := builder{invokeID: obs.InvokeID, now: now.UTC(), rules: rules, waiting: waitingStatus(rules, obs)}
	if known == nil {
		known = model.NewKnownInvocation(obs.InvokeID)
	} else if known.InvokeID != obs.InvokeID {
		return nil, fmt.Errorf("diff %s against state of %s", obs.InvokeID, known.InvokeID)
	}
	b.seq = known.LastSeq
	b.lastInvocation = known.LastOccurredAt

	if known.LastSeq == 0 {
		occurred, evidence := b.invocationTime(obs.Attributes.CreationTime, model.EvidenceCreationTime)
		// The cloud's aggregate is not dated by the discovery: it holds from
		// the instance transitions that produced it (reported below).
		if err := b.add(model.Event{
			Type: model.EventInvocationDiscovered, OccurredAt: occurred, Evidence: evidence,
		}, model.InvocationEventDetail(obs, true), obs.Raw); err != nil {
			return nil, err
		}
	}

	var latestInstanceEvent time.Time
	latestEvidence := model.EvidenceInstances
	for _, in := range uniqueInstances(obs.Instances) {
		events, err := b.instance(known.Instances[in.InstanceID], in)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			if e.Type == model.EventInstanceStatusChanged && !e.OccurredAt.Before(latestInstanceEvent) {
				latestInstanceEvent = e.OccurredAt
				latestEvidence = model.EvidenceInstances
				if e.Evidence == model.EvidenceObserved {
					latestEvidence = model.EvidenceObserved
				}
			}
		}
	}

	if known.ReportedStatus != obs.ReportedStatus {
		// The cloud's aggregate moves because an instance moved: date it by the
		// latest instance transition seen in the same observation.
		var at *time.Time
		if !latestInstanceEvent.IsZero() {
			at = &latestInstanceEvent
		}
		occurred, evidence := b.invocationTime(at, latestEvidence)
		if err := b.add(model.Event{
			Type: model.EventReportedStatusChanged, FromStatus: known.ReportedStatus, ToStatus: obs.ReportedStatus,
			OccurredAt: occurred, Evidence: evidence,
		}, nil, map[string]any{"InvocationStatus": obs.RawStatus}); err != nil {
			return nil, err
		}
	}
	// Attribute and tag changes carry no source time, so they are dated by
	// the observation and come last: dating them first would push the
	// source-dated events of the same observation forward.
	if known.LastSeq > 0 {
		if !known.Attributes.Equal(obs.Attributes) {
			occurred, evidence := b.invocationTime(nil, "")
			if err := b.add(model.Event{
				Type: model.EventInvocationAttributesChanged, OccurredAt: occurred, Evidence: evidence,
			}, model.InvocationEventDetail(obs, false), obs.Raw); err != nil {
				return nil, err
			}
		}
		if !model.TagsEqual(known.Tags, obs.Tags) {
			occurred, evidence := b.invocationTime(nil, "")
			if err := b.add(model.Event{
				Type: model.EventTagsChanged, OccurredAt: occurred, Evidence: evidence,
			}, model.TagsEventDetail(obs.Tags, obs.RawTags), map[string]any{"Tags": obs.RawTags}); err != nil {
				return nil, err
			}
		}
	}

	return b.events, nil
}

// Expired returns the event recording that the source no longer lists an
// invocation (the caller has confirmed it with a direct lookup).
func Expired(known *model.KnownInvocation, now time.Time) (model.Event, error) {
	b := builder{invokeID: known.InvokeID, now: now.UTC(), seq: known.LastSeq, lastInvocation: known.LastOccurredAt}
	occurred, evidence := b.invocationTime(nil, "")
	if err := b.add(model.Event{
		Type: model.EventSourceExpired, FromStatus: known.ReportedStatus,
		OccurredAt: occurred, Evidence: evidence,
	}, nil, map[string]any{}); err != nil {
		return model.Event{}, err
	}
	return b.events[0], nil
}

// builder accumulates one observation's events, numbering them and keeping
// valid time monotonic.
type builder struct {
	rules          model.Rules
	waiting        model.Status // the status an instance waits in before it runs
	invokeID       string
	now            time.Time
	seq            int64
	lastInvocation time.Time
	events         []model.Event
}

func (b *builder) add(e model.Event, detail any, payload any) error {
	b.seq++
	e.InvokeID = b.invokeID
	e.Seq = b.seq
	if detail != nil {
		raw, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("encode %s detail: %w", e.Type, err)
		}
		e.Detail = raw
	}
	if payload == nil {
		payload = map[string]any{}
	}
	if err := e.SetPayload(payload); err != nil {
		return fmt.Errorf("encode %s payload: %w", e.Type, err)
	}
	b.events = append(b.events, e)
	return nil
}

// invocationTime dates an invocation-level event by t when the source gave
// one, else by the observation time, never earlier than the previous
// invocation-level event.
func (b *builder) invocationTime(t *time.Time, evidence model.Evidence) (time.Time, model.Evidence) {
	at, ev := b.now, model.EvidenceObserved
	if t != nil {
		at, ev = t.UTC(), evidence
	}
	if at.Before(b.lastInvocation) {
		at, ev = b.lastInvocation, ev+model.ClampedSuffix
	}
	b.lastInvocation = at
	return at, ev
}

// uniqueInstances orders instances by id (so events do not depend on the
// order the source happened to list them in) and keeps the first of any
// duplicated id.
func uniqueInstances(in []model.Instance) []model.Instance {
	out := make([]model.Instance, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, i := range in {
		if seen[i.InstanceID] {
			continue
		}
		seen[i.InstanceID] = true
		out = append(out, i)
	}
	sort.SliceStable(out, func(a, c int) bool { return out[a].InstanceID < out[c].InstanceID })
	return out
}
