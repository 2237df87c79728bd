package model

import (
	"fmt"
	"sort"
	"time"
)

// KnownInvocation is what the archive knows about one invocation now: the
// projection, folded from its events. The diff compares observations with it.
type KnownInvocation struct {
	InvokeID       string
	LastSeq        int64
	Attributes     Attributes
	Tags           []Tag
	ReportedStatus Status
	ExpiredAt      *time.Time
	// LastOccurredAt guards monotonic valid time for invocation-level events.
	LastOccurredAt time.Time
	// Disagreements counts observations after which the derived aggregate
	// differed from the one the cloud reported.
	Disagreements int64
	Instances     map[string]*KnownInstance
	// Changes lists the instance state changes the events applied since it
	// was last cleared, in order: what the store turns into validity
	// intervals. The caller that persists them clears it.
	Changes []InstanceChange
	// FirstOccurredAt is the valid time of the invocation's first event
	// (seq 1) when that event was folded into this state: then Changes
	// hold its whole history. It is not stored: a state loaded from the
	// projections has none.
	FirstOccurredAt *time.Time
}

// KnownInstance is the known state of one instance of an invocation.
type KnownInstance struct {
	Status         Status
	StatusSince    time.Time // occurred_at of the last status event
	LastOccurredAt time.Time // guards monotonic valid time per instance
	Details        Details
}

// NewKnownInvocation returns the empty state an invocation has before its
// first event.
func NewKnownInvocation(invokeID string) *KnownInvocation {
	return &KnownInvocation{InvokeID: invokeID, Instances: map[string]*KnownInstance{}}
}

// DerivedStatus is the aggregate rule over the instances' current statuses.
// Instances with no status event yet are not counted (as at a point in
// time); an instance whose last status was blank or undocumented is, and
// makes the aggregate Unknown.
func (k *KnownInvocation) DerivedStatus() Status {
	statuses := make([]Status, 0, len(k.Instances))
	for _, in := range k.Instances {
		if !in.StatusSince.IsZero() {
			statuses = append(statuses, in.Status)
		}
	}
	return AggregateOf(k.Attributes, statuses)
}

// InstanceIDs returns the instance ids in sorted order, for stable output.
func (k *KnownInvocation) InstanceIDs() []string {
	ids := make([]string, 0, len(k.Instances))
	for id := range k.Instances {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Apply folds one observation's batch of events into the state. Incremental
// ingest and the projection rebuild both go through here, which is what makes
// the projections a pure function of the event log.
func (k *KnownInvocation) Apply(batch []Event) error {
	if err := k.ApplyEvents(batch); err != nil {
		return err
	}
	k.CountObservation(batch)
	return nil
}

// ApplyEvents folds events without counting them as an observation: a
// page that observes a task more than once (a repeating command's runs)
// applies each part so the next is diffed against it, then counts the
// whole once (CountObservation), as the rebuild does.
func (k *KnownInvocation) ApplyEvents(batch []Event) error {
	for _, e := range batch {
		if err := k.apply(e); err != nil {
			return fmt.Errorf("apply event %s seq %d: %w", e.InvokeID, e.Seq, err)
		}
	}
	return nil
}

// CountObservation counts a disagreement when, after an observation's
// events (batch), the cloud's aggregate differs from the documented rule.
func (k *KnownInvocation) CountObservation(batch []Event) {
	if len(batch) == 0 {
		return
	}
	observed := false // an expiry is not an observation of the aggregates
	for _, e := range batch {
		observed = observed || e.Type != EventSourceExpired
	}
	if observed && len(k.Instances) > 0 && k.ReportedStatus != "" && k.DerivedStatus() != k.ReportedStatus {
		k.Disagreements++
	}
}

func (k *KnownInvocation) apply(e Event) error {
	if e.Seq != k.LastSeq+1 {
		return fmt.Errorf("sequence gap: have %d, got %d", k.LastSeq, e.Seq)
	}
	k.LastSeq = e.Seq
	if e.Seq == 1 {
		first := e.OccurredAt
		k.FirstOccurredAt = &first
	}
	if e.InstanceID == "" {
		return k.applyInvocation(e)
	}
	in := k.Instances[e.InstanceID]
	if in == nil {
		in = &KnownInstance{}
		k.Instances[e.InstanceID] = in
	}
	if e.OccurredAt.After(in.LastOccurredAt) {
		in.LastOccurredAt = e.OccurredAt
	}
	before, had := in.State()
	defer k.recordChange(e.InstanceID, in, before, had, e.OccurredAt)
	switch e.Type {
	case EventInstanceDiscovered, EventInstanceDetailsChanged:
		d, err := InstanceDetailsOf(e)
		if err != nil {
			return err
		}
		in.Details = d
	case EventInstanceStatusChanged:
		in.Status = e.ToStatus
		in.StatusSince = e.OccurredAt
	default:
		return fmt.Errorf("unknown instance event type %q", e.Type)
	}
	return nil
}

func (k *KnownInvocation) applyInvocation(e Event) error {
	if e.OccurredAt.After(k.LastOccurredAt) {
		k.LastOccurredAt = e.OccurredAt
	}
	if e.Type != EventSourceExpired {
		k.ExpiredAt = nil
	}
	switch e.Type {
	case EventInvocationDiscovered, EventInvocationAttributesChanged, EventTagsChanged:
		d, err := InvocationDetailOf(e)
		if err != nil {
			return err
		}
		if d.Attributes != nil {
			k.Attributes = *d.Attributes
		}
		if e.Type != EventInvocationAttributesChanged {
			k.Tags = d.Tags
		}
		if e.Type == EventInvocationDiscovered {
			k.ReportedStatus = e.ToStatus
		}
	case EventReportedStatusChanged:
		k.ReportedStatus = e.ToStatus
	case EventSourceExpired:
		t := e.OccurredAt
		k.ExpiredAt = &t
	default:
		return fmt.Errorf("unknown invocation event type %q", e.Type)
	}
	return nil
}
