package query

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// InstanceStatus is one instance's status at a point in time.
type InstanceStatus struct {
	InstanceID string       `json:"instance_id"`
	Status     model.Status `json:"status"`
	Since      time.Time    `json:"since"`
	ErrorCode  string       `json:"error_code"`
	ErrorInfo  string       `json:"error_info"`
	// A command instance's latest run by then (absent for file sends):
	// its number, exit code, output SHA-256 and the bytes cut from it.
	Repeats      *int64 `json:"repeats,omitempty"`
	ExitCode     *int64 `json:"exit_code,omitempty"`
	OutputSHA256 string `json:"output_sha256,omitempty"`
	Dropped      *int64 `json:"dropped,omitempty"`
}

// setRun sets the instance's latest run from its details, as far as it had
// happened at at: details are dated when first observed, which may be
// after the run, so a run not started by then is left out, and a run still
// going has no exit code or output yet.
func (in *InstanceStatus) setRun(d model.Details, at time.Time) {
	if d.StartTime == nil || d.StartTime.After(at) {
		return
	}
	in.Repeats = d.Repeats
	if d.FinishTime != nil && !d.FinishTime.After(at) {
		in.ExitCode, in.OutputSHA256, in.Dropped = d.ExitCode, d.OutputSHA256, d.Dropped
	}
}

// Status is an invocation's status at a point in time.
type Status struct {
	InvokeID       string           `json:"invoke_id"`
	Region         string           `json:"region"`
	At             time.Time        `json:"at"`
	KnownAt        *time.Time       `json:"known_at"`
	Status         model.Status     `json:"status"`
	ReportedStatus model.Status     `json:"reported_status"`
	Instances      []InstanceStatus `json:"instances"`
}

// StatusAt computes an invocation's status at valid time at from its events,
// counting only events recorded at or before knownAt (nil: all). ok is false
// when nothing about the invocation had happened by at (as known at knownAt).
//
// Per instance, the status is that of the last status event with
// occurred_at ≤ at (ties broken by sequence); instances with no such event did
// not exist yet and are not counted; the aggregate rule runs over the rest.
func StatusAt(events []store.StoredEvent, at time.Time, knownAt *time.Time) (st Status, ok bool) {
	type pick struct {
		occurred time.Time
		seq      int64
	}
	later := func(e store.StoredEvent, p pick) bool {
		return e.OccurredAt.After(p.occurred) || (e.OccurredAt.Equal(p.occurred) && e.Seq > p.seq)
	}
	statuses := map[string]*InstanceStatus{}
	statusPick := map[string]pick{}
	details := map[string]model.Details{}
	detailPick := map[string]pick{}
	var reportedPick pick
	var attrs model.Attributes
	for _, e := range events {
		if knownAt != nil && e.RecordedAt.After(*knownAt) {
			continue
		}
		if e.OccurredAt.After(at) {
			continue
		}
		ok = true
		switch e.Type {
		case model.EventInstanceStatusChanged:
			if p, seen := statusPick[e.InstanceID]; !seen || later(e, p) {
				statusPick[e.InstanceID] = pick{e.OccurredAt, e.Seq}
				statuses[e.InstanceID] = &InstanceStatus{InstanceID: e.InstanceID, Status: e.ToStatus, Since: e.OccurredAt}
			}
		case model.EventInstanceDiscovered, model.EventInstanceDetailsChanged:
			if p, seen := detailPick[e.InstanceID]; !seen || later(e, p) {
				if d, err := model.InstanceDetailsOf(e.Event); err == nil {
					detailPick[e.InstanceID] = pick{e.OccurredAt, e.Seq}
					details[e.InstanceID] = d
				}
			}
		case model.EventInvocationDiscovered, model.EventReportedStatusChanged:
			if e.Type == model.EventInvocationDiscovered {
				// Which aggregate rule applies is the record's kind.
				if d, err := model.InvocationDetailOf(e.Event); err == nil && d.Attributes != nil {
					attrs = *d.Attributes
				}
			}
			if later(e, reportedPick) || st.ReportedStatus == "" {
				reportedPick = pick{e.OccurredAt, e.Seq}
				st.ReportedStatus = e.ToStatus
			}
		}
	}
	if !ok {
		return Status{}, false
	}
	list := make([]model.Status, 0, len(statuses))
	for _, in := range statuses {
		// Error details belong to an outcome; a Pending or Running instance
		// has none yet, even if the archive first saw it after it failed.
		if in.Status != model.StatusPending && in.Status != model.StatusRunning {
			in.ErrorCode, in.ErrorInfo = details[in.InstanceID].ErrorCode, details[in.InstanceID].ErrorInfo
		}
		in.setRun(details[in.InstanceID], at)
		st.Instances = append(st.Instances, *in)
		list = append(list, in.Status)
	}
	sort.Slice(st.Instances, func(i, j int) bool { return st.Instances[i].InstanceID < st.Instances[j].InstanceID })
	if st.Instances == nil {
		st.Instances = []InstanceStatus{}
	}
	st.Status = model.AggregateOf(attrs, list)
	st.At = at.UTC()
	if knownAt != nil {
		k := knownAt.UTC()
		st.KnownAt = &k
	}
	return st, true
}

// Querier answers questions from the store.
type Querier struct {
	Store *store.Store
}

// Status returns the invocation's status at at, as known at knownAt (nil: now).
// It wraps store.ErrNotFound when the archive knows nothing of the
// invocation at at, saying whether it was not recorded yet by knownAt.
func (q *Querier) Status(ctx context.Context, invokeID string, at time.Time, knownAt *time.Time) (Status, error) {
	target, first, err := q.Store.FirstRecorded(ctx, invokeID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Status{}, fmt.Errorf("invocation %s: %w in the archive", invokeID, store.ErrNotFound)
		}
		return Status{}, err
	}
	if knownAt != nil && first.After(*knownAt) {
		return Status{}, fmt.Errorf("invocation %s: %w as known at %s: the archive had not recorded it yet (first recorded %s)",
			invokeID, store.ErrNotFound, knownAt.UTC().Format(time.RFC3339), first.Format(time.RFC3339))
	}
	events, err := q.Store.InvocationEvents(ctx, target.ID, invokeID, knownAt)
	if err != nil {
		return Status{}, err
	}
	st, ok := StatusAt(events, at, knownAt)
	if !ok {
		return Status{}, fmt.Errorf("invocation %s: %w at %s (the archive has nothing on it by then)",
			invokeID, store.ErrNotFound, at.UTC().Format(time.RFC3339))
	}
	st.InvokeID = invokeID
	st.Region = target.Region
	return st, nil
}

// History returns every event of the invocation in order.
func (q *Querier) History(ctx context.Context, invokeID string) ([]store.StoredEvent, error) {
	target, _, err := q.Store.FirstRecorded(ctx, invokeID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("invocation %s: %w in the archive", invokeID, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return q.Store.InvocationEvents(ctx, target.ID, invokeID, nil)
}
