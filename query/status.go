package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// ErrNotFound means the archive knows nothing of the invocation at the
// requested time.
var ErrNotFound = errors.New("not found")

// InstanceStatus is one instance's status at a point in time.
type InstanceStatus struct {
	InstanceID string    `json:"instance_id"`
	Status     string    `json:"status"`
	Since      time.Time `json:"since"`
	ErrorCode  string    `json:"error_code"`
	ErrorInfo  string    `json:"error_info"`
}

// Status is an invocation's status at a point in time.
type Status struct {
	InvokeID       string           `json:"invoke_id"`
	Region         string           `json:"region"`
	At             time.Time        `json:"at"`
	KnownAt        *time.Time       `json:"known_at"`
	Status         string           `json:"status"`
	ReportedStatus string           `json:"reported_status"`
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
				var d model.Details
				if err := json.Unmarshal(e.Detail, &d); err == nil {
					detailPick[e.InstanceID] = pick{e.OccurredAt, e.Seq}
					details[e.InstanceID] = d
				}
			}
		case model.EventInvocationDiscovered, model.EventReportedStatusChanged:
			if later(e, reportedPick) || st.ReportedStatus == "" {
				reportedPick = pick{e.OccurredAt, e.Seq}
				st.ReportedStatus = e.ToStatus
			}
		}
	}
	if !ok {
		return Status{}, false
	}
	list := make([]string, 0, len(statuses))
	for _, in := range statuses {
		// Error details belong to an outcome; a Pending or Running instance
		// has none yet, even if the archive first saw it after it failed.
		if in.Status != model.StatusPending && in.Status != model.StatusRunning {
			in.ErrorCode, in.ErrorInfo = details[in.InstanceID].ErrorCode, details[in.InstanceID].ErrorInfo
		}
		st.Instances = append(st.Instances, *in)
		list = append(list, in.Status)
	}
	sort.Slice(st.Instances, func(i, j int) bool { return st.Instances[i].InstanceID < st.Instances[j].InstanceID })
	if st.Instances == nil {
		st.Instances = []InstanceStatus{}
	}
	st.Status = model.Aggregate(list)
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
func (q *Querier) Status(ctx context.Context, invokeID string, at time.Time, knownAt *time.Time) (Status, error) {
	events, err := q.Store.InvocationEvents(ctx, invokeID, knownAt)
	if err != nil {
		return Status{}, err
	}
	if len(events) == 0 {
		return Status{}, fmt.Errorf("invocation %s: %w in the archive", invokeID, ErrNotFound)
	}
	// An invoke id names one send; should two targets ever hold the same id,
	// answer for the first (the one archived earliest).
	first := events[0].TargetID
	n := 0
	for _, e := range events {
		if e.TargetID == first {
			events[n] = e
			n++
		}
	}
	st, ok := StatusAt(events[:n], at, knownAt)
	if !ok {
		return Status{}, fmt.Errorf("invocation %s: %w at %s (the archive has nothing on it by then)",
			invokeID, ErrNotFound, at.UTC().Format(time.RFC3339))
	}
	st.InvokeID = invokeID
	targets, err := q.Store.Targets(ctx)
	if err != nil {
		return Status{}, err
	}
	for _, t := range targets {
		if t.ID == first {
			st.Region = t.Region
		}
	}
	return st, nil
}

// History returns every event of the invocation in order.
func (q *Querier) History(ctx context.Context, invokeID string) ([]store.StoredEvent, error) {
	events, err := q.Store.InvocationEvents(ctx, invokeID, nil)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("invocation %s: %w in the archive", invokeID, ErrNotFound)
	}
	return events, nil
}
