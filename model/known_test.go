package model_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func ptr[T any](v T) *T { return &v }

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// history is a small, hand-written event log for one invocation with two
// instances, in the shape the diff produces.
func history(t *testing.T) []model.Event {
	t.Helper()
	attrs := model.Attributes{Name: "a.txt", TargetDir: "/root", FileMode: "0644", Overwrite: ptr(false),
		VMCount: ptr(int64(2)), CreationTime: ptr(at(0))}
	d1 := model.Details{CreationTime: ptr(at(0))}
	d1done := model.Details{CreationTime: ptr(at(0)), StartTime: ptr(at(5)), FinishTime: ptr(at(9)),
		ErrorCode: "FileAlreadyExists", ErrorInfo: "exists"}
	return []model.Event{
		{InvokeID: "f-1", Seq: 1, Type: model.EventInvocationDiscovered, ToStatus: "Pending", OccurredAt: at(0),
			Evidence: model.EvidenceCreationTime,
			Detail:   mustJSON(t, model.InvocationDetail{Attributes: &attrs, Tags: []model.Tag{{Key: "env", Value: "prod"}}})},
		{InvokeID: "f-1", InstanceID: "i-1", Seq: 2, Type: model.EventInstanceDiscovered, OccurredAt: at(0),
			Evidence: model.EvidenceCreationTime, Detail: mustJSON(t, d1)},
		{InvokeID: "f-1", InstanceID: "i-1", Seq: 3, Type: model.EventInstanceStatusChanged, ToStatus: "Pending",
			OccurredAt: at(0), Evidence: model.EvidenceCreationTime},
		{InvokeID: "f-1", InstanceID: "i-2", Seq: 4, Type: model.EventInstanceDiscovered, OccurredAt: at(1),
			Evidence: model.EvidenceCreationTime, Detail: mustJSON(t, d1)},
		{InvokeID: "f-1", InstanceID: "i-2", Seq: 5, Type: model.EventInstanceStatusChanged, ToStatus: "Pending",
			OccurredAt: at(1), Evidence: model.EvidenceCreationTime},
		{InvokeID: "f-1", InstanceID: "i-1", Seq: 6, Type: model.EventInstanceStatusChanged, FromStatus: "Pending",
			ToStatus: "Running", OccurredAt: at(5), Evidence: model.EvidenceStartTime},
		{InvokeID: "f-1", InstanceID: "i-1", Seq: 7, Type: model.EventInstanceStatusChanged, FromStatus: "Running",
			ToStatus: "Failed", OccurredAt: at(9), Evidence: model.EvidenceFinishTime},
		{InvokeID: "f-1", InstanceID: "i-1", Seq: 8, Type: model.EventInstanceDetailsChanged, OccurredAt: at(9),
			Evidence: model.EvidenceUpdateTime, Detail: mustJSON(t, d1done)},
	}
}

func TestApplyFoldsHistory(t *testing.T) {
	t.Parallel()
	k := model.NewKnownInvocation("f-1")
	ev := history(t)
	if err := k.Apply(ev); err != nil {
		t.Fatal(err)
	}
	if k.LastSeq != 8 {
		t.Errorf("LastSeq = %d, want 8", k.LastSeq)
	}
	if k.ReportedStatus != "Pending" {
		t.Errorf("ReportedStatus = %q, want the discovery event's ToStatus", k.ReportedStatus)
	}
	if k.Attributes.Name != "a.txt" || k.Attributes.FileMode != "0644" || k.Attributes.Overwrite == nil ||
		*k.Attributes.Overwrite || !k.Attributes.CreationTime.Equal(at(0)) {
		t.Errorf("Attributes = %+v", k.Attributes)
	}
	if !model.TagsEqual(k.Tags, []model.Tag{{Key: "env", Value: "prod"}}) {
		t.Errorf("Tags = %v", k.Tags)
	}
	if !k.LastOccurredAt.Equal(at(0)) {
		t.Errorf("invocation LastOccurredAt = %v, want %v", k.LastOccurredAt, at(0))
	}
	if got := k.InstanceIDs(); !slices.Equal(got, []string{"i-1", "i-2"}) {
		t.Errorf("InstanceIDs = %v", got)
	}
	i1, i2 := k.Instances["i-1"], k.Instances["i-2"]
	if i1.Status != "Failed" || !i1.StatusSince.Equal(at(9)) || !i1.LastOccurredAt.Equal(at(9)) {
		t.Errorf("i-1 = %+v, want Failed since and last at %v", i1, at(9))
	}
	if i1.Details.ErrorCode != "FileAlreadyExists" || i1.Details.FinishTime == nil || !i1.Details.FinishTime.Equal(at(9)) {
		t.Errorf("i-1 details = %+v", i1.Details)
	}
	if i2.Status != "Pending" || !i2.StatusSince.Equal(at(1)) {
		t.Errorf("i-2 = %+v", i2)
	}
	if got := k.DerivedStatus(); got != model.AggregatePending {
		t.Errorf("DerivedStatus = %q, want Pending", got)
	}
	// Reported Pending, derived Pending: no disagreement yet.
	if k.Disagreements != 0 {
		t.Errorf("Disagreements = %d, want 0", k.Disagreements)
	}
}

// Folding a log in one batch or event by event gives the same state (apart
// from Disagreements, which counts batches by design).
func TestApplyBatchingDoesNotChangeState(t *testing.T) {
	t.Parallel()
	whole := model.NewKnownInvocation("f-1")
	if err := whole.Apply(history(t)); err != nil {
		t.Fatal(err)
	}
	one := model.NewKnownInvocation("f-1")
	for _, e := range history(t) {
		if err := one.Apply([]model.Event{e}); err != nil {
			t.Fatal(err)
		}
	}
	one.Disagreements, whole.Disagreements = 0, 0
	if a, b := mustJSON(t, one), mustJSON(t, whole); string(a) != string(b) {
		t.Errorf("event-by-event fold\n%s\ndiffers from one-batch fold\n%s", a, b)
	}
}

func TestApplyRejectsSequenceGapsAndUnknownTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		batch []model.Event
		want  string
	}{
		{"starts at 2", []model.Event{{InvokeID: "f-1", Seq: 2, Type: model.EventSourceExpired}}, "sequence gap"},
		{"starts at 0", []model.Event{{InvokeID: "f-1", Seq: 0, Type: model.EventSourceExpired}}, "sequence gap"},
		{"gap in batch", []model.Event{
			{InvokeID: "f-1", Seq: 1, Type: model.EventSourceExpired},
			{InvokeID: "f-1", Seq: 3, Type: model.EventSourceExpired},
		}, "sequence gap"},
		{"duplicate seq", []model.Event{
			{InvokeID: "f-1", Seq: 1, Type: model.EventSourceExpired},
			{InvokeID: "f-1", Seq: 1, Type: model.EventSourceExpired},
		}, "sequence gap"},
		{"unknown invocation type", []model.Event{{InvokeID: "f-1", Seq: 1, Type: "invocation_renamed"}}, "unknown invocation event type"},
		{"unknown instance type", []model.Event{{InvokeID: "f-1", InstanceID: "i-1", Seq: 1, Type: model.EventInvocationDiscovered}}, "unknown instance event type"},
		{"bad instance detail", []model.Event{{InvokeID: "f-1", InstanceID: "i-1", Seq: 1, Type: model.EventInstanceDiscovered,
			Detail: json.RawMessage(`{"creation_time": 5}`)}}, "decode instance details"},
		{"bad invocation detail", []model.Event{{InvokeID: "f-1", Seq: 1, Type: model.EventInvocationDiscovered,
			Detail: json.RawMessage(`[`)}}, "decode invocation detail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := model.NewKnownInvocation("f-1").Apply(tc.batch)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Apply error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestApplyEmptyBatchIsNoOp(t *testing.T) {
	t.Parallel()
	k := model.NewKnownInvocation("f-1")
	if err := k.Apply(history(t)); err != nil {
		t.Fatal(err)
	}
	before := string(mustJSON(t, k))
	if err := k.Apply(nil); err != nil {
		t.Fatal(err)
	}
	if after := string(mustJSON(t, k)); after != before {
		t.Errorf("empty batch changed the state:\n%s\n%s", before, after)
	}
}

func TestApplyInvocationLevelEvents(t *testing.T) {
	t.Parallel()
	k := model.NewKnownInvocation("f-1")
	if err := k.Apply(history(t)); err != nil {
		t.Fatal(err)
	}
	origAttrs := k.Attributes

	// Tags changed: tags replaced, attributes kept.
	newTags := []model.Tag{{Key: "env", Value: "dev"}, {Key: "team", Value: "x"}}
	if err := k.Apply([]model.Event{{InvokeID: "f-1", Seq: 9, Type: model.EventTagsChanged, OccurredAt: at(20),
		Evidence: model.EvidenceObserved, Detail: mustJSON(t, model.InvocationDetail{Tags: newTags})}}); err != nil {
		t.Fatal(err)
	}
	if !model.TagsEqual(k.Tags, newTags) || !k.Attributes.Equal(origAttrs) {
		t.Errorf("after tags change: tags %v attrs %+v", k.Tags, k.Attributes)
	}

	// Attributes changed: attributes replaced, tags kept (its detail has "tags": null).
	changed := origAttrs
	changed.Description = "new"
	if err := k.Apply([]model.Event{{InvokeID: "f-1", Seq: 10, Type: model.EventInvocationAttributesChanged,
		OccurredAt: at(21), Evidence: model.EvidenceObserved,
		Detail: mustJSON(t, model.InvocationDetail{Attributes: &changed})}}); err != nil {
		t.Fatal(err)
	}
	if k.Attributes.Description != "new" || !model.TagsEqual(k.Tags, newTags) {
		t.Errorf("after attributes change: attrs %+v tags %v", k.Attributes, k.Tags)
	}

	// Reported status changed; derived is Pending (i-2 still Pending), reported
	// now says Failed: one disagreement for this batch.
	if err := k.Apply([]model.Event{{InvokeID: "f-1", Seq: 11, Type: model.EventReportedStatusChanged,
		FromStatus: "Pending", ToStatus: "Failed", OccurredAt: at(22), Evidence: model.EvidenceInstances}}); err != nil {
		t.Fatal(err)
	}
	if k.ReportedStatus != "Failed" || k.Disagreements != 1 {
		t.Errorf("ReportedStatus %q Disagreements %d, want Failed 1", k.ReportedStatus, k.Disagreements)
	}

	// Source expired sets ExpiredAt; a later invocation event clears it.
	if err := k.Apply([]model.Event{{InvokeID: "f-1", Seq: 12, Type: model.EventSourceExpired,
		FromStatus: "Failed", OccurredAt: at(30), Evidence: model.EvidenceObserved}}); err != nil {
		t.Fatal(err)
	}
	if k.ExpiredAt == nil || !k.ExpiredAt.Equal(at(30)) {
		t.Fatalf("ExpiredAt = %v, want %v", k.ExpiredAt, at(30))
	}
	if k.ReportedStatus != "Failed" {
		t.Errorf("expiry changed ReportedStatus to %q", k.ReportedStatus)
	}
	if !k.LastOccurredAt.Equal(at(30)) {
		t.Errorf("LastOccurredAt = %v, want %v", k.LastOccurredAt, at(30))
	}
	if err := k.Apply([]model.Event{{InvokeID: "f-1", Seq: 13, Type: model.EventReportedStatusChanged,
		FromStatus: "Failed", ToStatus: "Pending", OccurredAt: at(31), Evidence: model.EvidenceObserved}}); err != nil {
		t.Fatal(err)
	}
	if k.ExpiredAt != nil {
		t.Errorf("ExpiredAt = %v after a later event, want nil", k.ExpiredAt)
	}
}

// LastOccurredAt is a high-water mark: an older event (as a clamped one never
// is, but a rebuilt log might carry) does not lower it, while the status
// itself follows the log order.
func TestApplyLastOccurredAtIsHighWaterMark(t *testing.T) {
	t.Parallel()
	k := model.NewKnownInvocation("f-1")
	batch := []model.Event{
		{InvokeID: "f-1", InstanceID: "i-1", Seq: 1, Type: model.EventInstanceStatusChanged, ToStatus: "Running", OccurredAt: at(10)},
		{InvokeID: "f-1", InstanceID: "i-1", Seq: 2, Type: model.EventInstanceStatusChanged, FromStatus: "Running", ToStatus: "Success", OccurredAt: at(5)},
	}
	if err := k.Apply(batch); err != nil {
		t.Fatal(err)
	}
	in := k.Instances["i-1"]
	if in.Status != "Success" || !in.StatusSince.Equal(at(5)) || !in.LastOccurredAt.Equal(at(10)) {
		t.Errorf("instance = %+v", in)
	}
}

func TestDerivedStatus(t *testing.T) {
	t.Parallel()
	k := model.NewKnownInvocation("f-1")
	if got := k.DerivedStatus(); got != model.AggregateUnknown {
		t.Errorf("no instances: DerivedStatus = %q, want Unknown", got)
	}
	// An instance without a status yet is not counted.
	k.Instances["i-0"] = &model.KnownInstance{}
	if got := k.DerivedStatus(); got != model.AggregateUnknown {
		t.Errorf("only a status-less instance: DerivedStatus = %q, want Unknown", got)
	}
	since := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	k.Instances["i-1"] = &model.KnownInstance{Status: "Success", StatusSince: since}
	k.Instances["i-2"] = &model.KnownInstance{Status: "Timeout", StatusSince: since}
	if got := k.DerivedStatus(); got != model.AggregatePartialFailed {
		t.Errorf("DerivedStatus = %q, want PartialFailed", got)
	}
	k.Instances["i-3"] = &model.KnownInstance{Status: "Stopping", StatusSince: since}
	if got := k.DerivedStatus(); got != model.AggregateUnknown {
		t.Errorf("with undocumented status: DerivedStatus = %q, want Unknown", got)
	}
	// A blank status reached by a status event is kept, not dropped.
	k.Instances["i-3"] = &model.KnownInstance{Status: "", StatusSince: since}
	if got := k.DerivedStatus(); got != model.AggregateUnknown {
		t.Errorf("with a blank status: DerivedStatus = %q, want Unknown", got)
	}
}

// Disagreements counts batches after which derived and reported differ, and
// only when there are instances and a reported status.
func TestApplyCountsDisagreements(t *testing.T) {
	t.Parallel()
	k := model.NewKnownInvocation("f-1")
	if err := k.Apply([]model.Event{{InvokeID: "f-1", Seq: 1, Type: model.EventInvocationDiscovered, ToStatus: "Running",
		OccurredAt: at(0), Detail: mustJSON(t, model.InvocationDetail{})}}); err != nil {
		t.Fatal(err)
	}
	if k.Disagreements != 0 {
		t.Errorf("no instances yet: Disagreements = %d, want 0", k.Disagreements)
	}
	if err := k.Apply([]model.Event{{InvokeID: "f-1", InstanceID: "i-1", Seq: 2, Type: model.EventInstanceStatusChanged,
		ToStatus: "Pending", OccurredAt: at(0)}}); err != nil {
		t.Fatal(err)
	}
	if k.Disagreements != 1 {
		t.Errorf("reported Running, derived Pending: Disagreements = %d, want 1", k.Disagreements)
	}
	if err := k.Apply([]model.Event{{InvokeID: "f-1", InstanceID: "i-1", Seq: 3, Type: model.EventInstanceStatusChanged,
		FromStatus: "Pending", ToStatus: "Running", OccurredAt: at(1)}}); err != nil {
		t.Fatal(err)
	}
	if k.Disagreements != 1 {
		t.Errorf("agreeing again: Disagreements = %d, want still 1", k.Disagreements)
	}
}

func TestDetailsAndAttributesEquality(t *testing.T) {
	t.Parallel()
	// Equal instants in different zones are equal.
	cst := time.FixedZone("CST", 8*3600)
	a := model.Details{CreationTime: ptr(at(0)), StartTime: ptr(at(1).In(cst)), ErrorCode: "X", ErrorInfo: "y"}
	b := model.Details{CreationTime: ptr(at(0).In(cst)), StartTime: ptr(at(1)), ErrorCode: "X", ErrorInfo: "y"}
	if !a.Equal(b) || !b.Equal(a) {
		t.Error("Details with the same instants in different zones are not Equal")
	}
	for name, mut := range map[string]func(*model.Details){
		"creation nil":   func(d *model.Details) { d.CreationTime = nil },
		"start moved":    func(d *model.Details) { d.StartTime = ptr(at(2)) },
		"finish set":     func(d *model.Details) { d.FinishTime = ptr(at(3)) },
		"error code":     func(d *model.Details) { d.ErrorCode = "Z" },
		"error info":     func(d *model.Details) { d.ErrorInfo = "" },
		"start 1ns late": func(d *model.Details) { d.StartTime = ptr(at(1).Add(time.Nanosecond)) },
	} {
		c := a
		mut(&c)
		if a.Equal(c) || c.Equal(a) {
			t.Errorf("Details Equal despite %s", name)
		}
	}

	in := model.Instance{InstanceID: "i-1", Status: "Success", CreationTime: ptr(at(0)), StartTime: ptr(at(1)),
		FinishTime: ptr(at(2)), UpdateTime: ptr(at(3)), ErrorCode: "E", ErrorInfo: "I"}
	d := model.DetailsOf(in)
	want := model.Details{CreationTime: ptr(at(0)), StartTime: ptr(at(1)), FinishTime: ptr(at(2)), ErrorCode: "E", ErrorInfo: "I"}
	if !d.Equal(want) {
		t.Errorf("DetailsOf = %+v, want %+v", d, want)
	}
	// UpdateTime is deliberately not a detail.
	in.UpdateTime = ptr(at(99))
	if !model.DetailsOf(in).Equal(d) {
		t.Error("a new UpdateTime changed the Details")
	}

	// JSON round trip keeps Details and Attributes Equal (the fold relies on it).
	var back model.Details
	if err := json.Unmarshal(mustJSON(t, a), &back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(a) {
		t.Errorf("Details JSON round trip: %+v != %+v", back, a)
	}
	attrs := model.Attributes{Name: "n", Description: "d", ContentSHA256: "abc", ContentType: "PlainText", TargetDir: "/t",
		FileOwner: "o", FileGroup: "g", FileMode: "0644", Overwrite: ptr(true), VMCount: ptr(int64(3)),
		CreationTime: ptr(time.Date(2023, 4, 10, 10, 53, 46, 156e6, cst))}
	var attrsBack model.Attributes
	if err := json.Unmarshal(mustJSON(t, attrs), &attrsBack); err != nil {
		t.Fatal(err)
	}
	if !attrsBack.Equal(attrs) {
		t.Errorf("Attributes JSON round trip: %+v != %+v", attrsBack, attrs)
	}
	for name, mut := range map[string]func(*model.Attributes){
		"name":          func(x *model.Attributes) { x.Name = "m" },
		"description":   func(x *model.Attributes) { x.Description = "" },
		"sha":           func(x *model.Attributes) { x.ContentSHA256 = "abd" },
		"content type":  func(x *model.Attributes) { x.ContentType = "Base64" },
		"target dir":    func(x *model.Attributes) { x.TargetDir = "/u" },
		"owner":         func(x *model.Attributes) { x.FileOwner = "p" },
		"group":         func(x *model.Attributes) { x.FileGroup = "h" },
		"mode":          func(x *model.Attributes) { x.FileMode = "644" },
		"overwrite":     func(x *model.Attributes) { x.Overwrite = ptr(false) },
		"overwrite nil": func(x *model.Attributes) { x.Overwrite = nil },
		"vm count":      func(x *model.Attributes) { x.VMCount = ptr(int64(4)) },
		"vm count nil":  func(x *model.Attributes) { x.VMCount = nil },
		"creation":      func(x *model.Attributes) { x.CreationTime = ptr(at(0)) },
		"creation nil":  func(x *model.Attributes) { x.CreationTime = nil },
	} {
		c := attrs
		mut(&c)
		if attrs.Equal(c) || c.Equal(attrs) {
			t.Errorf("Attributes Equal despite a different %s", name)
		}
	}
}

func TestTagsEqual(t *testing.T) {
	t.Parallel()
	x := []model.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}
	for _, tc := range []struct {
		a, b []model.Tag
		want bool
	}{
		{nil, nil, true},
		{nil, []model.Tag{}, true}, // the fold turns "no tags" into an empty list
		{x, slices.Clone(x), true},
		{x, x[:1], false},
		{x, []model.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "3"}}, false},
		{x, []model.Tag{{Key: "a", Value: "1"}, {Key: "c", Value: "2"}}, false},
		{nil, x, false},
	} {
		if got := model.TagsEqual(tc.a, tc.b); got != tc.want {
			t.Errorf("TagsEqual(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := model.TagsEqual(tc.b, tc.a); got != tc.want {
			t.Errorf("TagsEqual(%v, %v) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}
