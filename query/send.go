package query

import (
	"fmt"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// Send is everything the archive says about one send at a point in time:
// its attributes and tags, its derived and reported status, when the source
// stopped listing it, and each instance's status.
type Send struct {
	Status
	Attributes model.Attributes
	Tags       []model.Tag
	ExpiredAt  *time.Time
}

// SendAt folds one invocation's events (in sequence order) into its state at
// valid time at, counting only events recorded by knownAt (nil: all). ok is
// false when nothing about it had happened by then. The status and instances
// follow StatusAt; attributes and tags are those of the latest invocation
// event carrying them; ExpiredAt is set while the last invocation-level
// event by then is the expiry (any later observation means it was listed
// again).
func SendAt(events []store.StoredEvent, at time.Time, knownAt *time.Time) (Send, bool, error) {
	st, ok := StatusAt(events, at, knownAt)
	if !ok {
		return Send{}, false, nil
	}
	s := Send{Status: st, Tags: []model.Tag{}}
	for _, e := range events {
		if e.InstanceID != "" || e.OccurredAt.After(at) || (knownAt != nil && e.RecordedAt.After(*knownAt)) {
			continue
		}
		if e.Type == model.EventSourceExpired {
			t := e.OccurredAt
			s.ExpiredAt = &t
			continue
		}
		s.ExpiredAt = nil
		if e.Type != model.EventInvocationDiscovered && e.Type != model.EventInvocationAttributesChanged &&
			e.Type != model.EventTagsChanged {
			continue
		}
		d, err := model.InvocationDetailOf(e.Event)
		if err != nil {
			return Send{}, false, fmt.Errorf("%s seq %d: decode detail: %w", e.InvokeID, e.Seq, err)
		}
		if d.Attributes != nil {
			s.Attributes = *d.Attributes
		}
		if e.Type != model.EventInvocationAttributesChanged && d.Tags != nil {
			s.Tags = d.Tags
		}
	}
	return s, true, nil
}

// SendOf is SendAt for an invocation none of whose events occurred after the
// instant asked about: its folded state (its projection) is then its state
// at that instant, and reading it is far cheaper than folding its events
// again. The export checks the condition; a test holds the two equal.
func SendOf(k *model.KnownInvocation) Send {
	s := Send{Attributes: k.Attributes, Tags: k.Tags, ExpiredAt: k.ExpiredAt}
	if s.Tags == nil {
		s.Tags = []model.Tag{}
	}
	s.InvokeID, s.ReportedStatus = k.InvokeID, k.ReportedStatus
	statuses := make([]model.Status, 0, len(k.Instances))
	s.Instances = []InstanceStatus{}
	for _, id := range k.InstanceIDs() {
		in := k.Instances[id]
		if in.StatusSince.IsZero() {
			continue // no status event yet: not counted, as at a point in time
		}
		is := InstanceStatus{InstanceID: id, Status: in.Status, Since: in.StatusSince}
		// Settled: nothing of it happened after the end of the period.
		is.setRun(in.Details, in.LastOccurredAt)
		if in.Status != model.StatusPending && in.Status != model.StatusRunning {
			is.ErrorCode, is.ErrorInfo = in.Details.ErrorCode, in.Details.ErrorInfo
		}
		s.Instances = append(s.Instances, is)
		statuses = append(statuses, in.Status)
	}
	s.Status.Status = model.AggregateOf(k.Attributes, statuses)
	return s
}
