package diff_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/diff"
	"github.com/cloudassistant/sendfile-archive/model"
)

func sec(n int) time.Time { return base.Add(time.Duration(n) * time.Second) }

func tp(n int) *time.Time { t := sec(n); return &t }

// instance builds an observed instance and its verbatim Raw fields.
func instance(id string, status model.Status, created, started, finished, updated *time.Time) model.Instance {
	in := model.Instance{InstanceID: id, Status: status, CreationTime: created, StartTime: started,
		FinishTime: finished, UpdateTime: updated}
	in.Raw = map[string]any{"InstanceId": id, "InvocationStatus": string(status)}
	for field, v := range map[string]*time.Time{"CreationTime": created, "StartTime": started,
		"FinishTime": finished, "UpdateTime": updated} {
		if v != nil {
			in.Raw[field] = formatTime(*v)
		}
	}
	return in
}

func invocation(reported model.Status, tags []model.Tag, instances ...model.Instance) model.Invocation {
	return model.Invocation{
		InvokeID:       "f-edge",
		Attributes:     model.Attributes{Name: "f.txt", FileMode: "0644", CreationTime: tp(0)},
		ReportedStatus: reported, RawStatus: reported, Tags: tags, RawTags: map[string]any{"Tag": []any{}},
		Instances: instances, Raw: map[string]any{"InvokeId": "f-edge", "InvocationStatus": string(reported)},
	}
}

// observe diffs obs against k, applies the events like ingest does, checks
// that the same observation then yields nothing, and returns the events.
func observe(t *testing.T, k **model.KnownInvocation, obs model.Invocation, now time.Time) []model.Event {
	t.Helper()
	var lastSeq int64
	if *k != nil {
		lastSeq = (*k).LastSeq
	}
	evs, err := diff.Invocation(*k, obs, now)
	if err != nil {
		t.Fatalf("diff: %v", err)
	}
	if !checkBatch(t, obs.InvokeID, lastSeq, evs, false) {
		t.FailNow()
	}
	if *k == nil {
		*k = model.NewKnownInvocation(obs.InvokeID)
	}
	if err := (*k).Apply(evs); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if again, err := diff.Invocation(*k, obs, now.Add(time.Minute)); err != nil || len(again) != 0 {
		t.Fatalf("re-diff gave %v %s", err, dump(again))
	}
	return evs
}

func statusEvents(evs []model.Event, instanceID string) []model.Event {
	var out []model.Event
	for _, e := range evs {
		if e.Type == model.EventInstanceStatusChanged && e.InstanceID == instanceID {
			out = append(out, e)
		}
	}
	return out
}

type wantStatus struct {
	from, to model.Status
	at       time.Time
	evidence model.Evidence
}

func assertStatusEvents(t *testing.T, evs []model.Event, instanceID string, want ...wantStatus) {
	t.Helper()
	got := statusEvents(evs, instanceID)
	if len(got) != len(want) {
		t.Fatalf("%s: status events %s, want %d", instanceID, dump(got), len(want))
	}
	for i, w := range want {
		e := got[i]
		if e.FromStatus != w.from || e.ToStatus != w.to || !e.OccurredAt.Equal(w.at) || e.Evidence != w.evidence {
			t.Errorf("%s: status event %d = %q→%q at %s (%s), want %q→%q at %s (%s)", instanceID, i, e.FromStatus,
				e.ToStatus, formatTime(e.OccurredAt), e.Evidence, w.from, w.to, formatTime(w.at), w.evidence)
		}
	}
}

func countType(evs []model.Event, typ model.EventType) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func TestFirstSeenFinishedGetsWholeLifecycle(t *testing.T) {
	t.Parallel()
	var k *model.KnownInvocation
	evs := observe(t, &k, invocation("Success", nil,
		instance("i-1", "Success", tp(0), tp(10), tp(20), tp(20))), sec(1000))
	if len(evs) != 6 || evs[0].Type != model.EventInvocationDiscovered || evs[1].Type != model.EventInstanceDiscovered {
		t.Fatalf("events: %s", dump(evs))
	}
	// The cloud's aggregate holds from the transition that produced it, not
	// from the send's creation: it is its own event, dated by the instances.
	if evs[0].ToStatus != "" {
		t.Errorf("invocation_discovered carries reported status %q, want none", evs[0].ToStatus)
	}
	if r := evs[5]; r.Type != model.EventReportedStatusChanged || r.FromStatus != "" || r.ToStatus != "Success" ||
		!r.OccurredAt.Equal(sec(20)) || r.Evidence != model.EvidenceInstances {
		t.Errorf("reported status event: %s", dump(evs[5:]))
	}
	assertStatusEvents(t, evs, "i-1",
		wantStatus{"", "Pending", sec(0), model.EvidenceCreationTime},
		wantStatus{"Pending", "Running", sec(10), model.EvidenceStartTime},
		wantStatus{"Running", "Success", sec(20), model.EvidenceFinishTime})
	if countType(evs, model.EventReportedStatusChanged) != 1 {
		t.Errorf("a first observation emits exactly one reported_status_changed: %s", dump(evs))
	}
}

// A reconstructed step says so: its payload is the observation (reporting
// Success), so its detail marks it inferred from that observed status; the
// step the observation showed carries no such mark.
func TestInferredStepsSaySo(t *testing.T) {
	t.Parallel()
	var k *model.KnownInvocation
	evs := observe(t, &k, invocation("Success", nil,
		instance("i-1", "Success", tp(0), tp(10), tp(20), tp(20))), sec(1000))
	for _, e := range statusEvents(evs, "i-1") {
		var payload map[string]any
		if err := json.Unmarshal(e.Payload, &payload); err != nil {
			t.Fatal(err)
		}
		var d model.InferredStep
		if e.Detail != nil {
			if err := json.Unmarshal(e.Detail, &d); err != nil {
				t.Fatal(err)
			}
		}
		contradicts := payload["InvocationStatus"] != string(e.ToStatus)
		if contradicts != d.Inferred || (d.Inferred && d.ObservedStatus != "Success") {
			t.Errorf("%s→%s: payload says %v, detail %s", e.FromStatus, e.ToStatus, payload["InvocationStatus"], e.Detail)
		}
	}
}

// Seen Pending, then Success: the Running that no poll saw is inferred and
// dated by StartTime.
func TestPendingThenSuccessInfersRunningAtStartTime(t *testing.T) {
	t.Parallel()
	var k *model.KnownInvocation
	observe(t, &k, invocation("Pending", nil, instance("i-1", "Pending", tp(0), nil, nil, tp(0))), sec(5))
	evs := observe(t, &k, invocation("Success", nil, instance("i-1", "Success", tp(0), tp(30), tp(40), tp(40))), sec(100))
	assertStatusEvents(t, evs, "i-1",
		wantStatus{"Pending", "Running", sec(30), model.EvidenceStartTime},
		wantStatus{"Running", "Success", sec(40), model.EvidenceFinishTime})
	var payload map[string]any
	if err := json.Unmarshal(statusEvents(evs, "i-1")[0].Payload, &payload); err != nil {
		t.Fatal(err)
	}
	if payload["StartTime"] != formatTime(sec(30)) || payload["InvocationStatus"] != "Success" {
		t.Errorf("inferred Running payload = %v, want the verbatim StartTime and observed status", payload)
	}
	if n := countType(evs, model.EventInstanceDetailsChanged); n != 1 {
		t.Errorf("%d instance_details_changed events, want 1 (StartTime and FinishTime appeared)", n)
	}
	if n := countType(evs, model.EventReportedStatusChanged); n != 1 {
		t.Fatalf("%d reported_status_changed events, want 1", n)
	}
	// The cloud's aggregate moved because the instance finished: dated by it.
	for _, e := range evs {
		if e.Type == model.EventReportedStatusChanged &&
			(e.FromStatus != "Pending" || e.ToStatus != "Success" || !e.OccurredAt.Equal(sec(40)) ||
				e.Evidence != model.EvidenceInstances) {
			t.Errorf("reported status event %q→%q at %s (%s), want Pending→Success at %s (instances)",
				e.FromStatus, e.ToStatus, formatTime(e.OccurredAt), e.Evidence, formatTime(sec(40)))
		}
	}
	if k.Instances["i-1"].Status != "Success" || k.DerivedStatus() != "Success" {
		t.Errorf("folded state: %+v, derived %q", k.Instances["i-1"], k.DerivedStatus())
	}
}

// An instance that never started (Invalid) gets no Running step.
func TestNeverStartedGetsNoRunning(t *testing.T) {
	t.Parallel()
	var k *model.KnownInvocation
	observe(t, &k, invocation("Pending", nil, instance("i-1", "Pending", tp(0), nil, nil, tp(0))), sec(5))
	evs := observe(t, &k, invocation("Failed", nil, instance("i-1", "Invalid", tp(0), nil, tp(9), tp(9))), sec(50))
	assertStatusEvents(t, evs, "i-1", wantStatus{"Pending", "Invalid", sec(9), model.EvidenceFinishTime})
}

func TestUndocumentedStatusKeptVerbatim(t *testing.T) {
	t.Parallel()
	t.Run("first seen", func(t *testing.T) {
		t.Parallel()
		var k *model.KnownInvocation
		evs := observe(t, &k, invocation("Running", nil, instance("i-1", "Stopping", tp(0), tp(5), nil, tp(8))), sec(10))
		// Nothing is inferred around a status the docs do not list.
		assertStatusEvents(t, evs, "i-1", wantStatus{"", "Stopping", sec(0), model.EvidenceCreationTime})
		if got := k.DerivedStatus(); got != model.AggregateUnknown {
			t.Errorf("derived with Stopping = %q, want Unknown", got)
		}
		evs = observe(t, &k, invocation("Success", nil, instance("i-1", "Success", tp(0), tp(5), tp(20), tp(20))), sec(30))
		assertStatusEvents(t, evs, "i-1", wantStatus{"Stopping", "Success", sec(20), model.EvidenceFinishTime})
		if got := k.DerivedStatus(); got != model.AggregateSuccess {
			t.Errorf("derived after leaving Stopping = %q, want Success", got)
		}
	})
	t.Run("mid lifecycle", func(t *testing.T) {
		t.Parallel()
		var k *model.KnownInvocation
		observe(t, &k, invocation("Running", nil, instance("i-1", "Running", tp(0), tp(5), nil, tp(5))), sec(10))
		evs := observe(t, &k, invocation("Running", nil, instance("i-1", "Stopping", tp(0), tp(5), nil, tp(15))), sec(20))
		assertStatusEvents(t, evs, "i-1", wantStatus{"Running", "Stopping", sec(15), model.EvidenceUpdateTime})
		if k.Instances["i-1"].Status != "Stopping" {
			t.Errorf("folded status %q, want Stopping verbatim", k.Instances["i-1"].Status)
		}
		// Back into the documented lifecycle: one step, no re-inferred Pending.
		evs = observe(t, &k, invocation("Running", nil, instance("i-1", "Running", tp(0), tp(5), nil, tp(25))), sec(30))
		assertStatusEvents(t, evs, "i-1", wantStatus{"Stopping", "Running", sec(25), model.EvidenceUpdateTime})
		evs = observe(t, &k, invocation("Running", nil, instance("i-1", "Stopping", tp(0), tp(5), nil, tp(35))), sec(40))
		assertStatusEvents(t, evs, "i-1", wantStatus{"Running", "Stopping", sec(35), model.EvidenceUpdateTime})
		evs = observe(t, &k, invocation("Failed", nil, instance("i-1", "Failed", tp(0), tp(5), tp(45), tp(45))), sec(50))
		assertStatusEvents(t, evs, "i-1", wantStatus{"Stopping", "Failed", sec(45), model.EvidenceFinishTime})
		if got := k.DerivedStatus(); got != model.AggregateFailed {
			t.Errorf("derived = %q, want Failed", got)
		}
	})
}

// A FinishTime before the instance's last event is raised to it and flagged.
func TestBackwardsTimestampIsClamped(t *testing.T) {
	t.Parallel()
	var k *model.KnownInvocation
	observe(t, &k, invocation("Running", nil, instance("i-1", "Running", tp(0), tp(60), nil, tp(60))), sec(70))
	obs := invocation("Success", nil, instance("i-1", "Success", tp(0), tp(60), tp(30), tp(30)))
	evs, err := diff.Invocation(k, obs, sec(100))
	if err != nil {
		t.Fatal(err)
	}
	assertStatusEvents(t, evs, "i-1",
		wantStatus{"Running", "Success", sec(60), model.EvidenceFinishTime + model.ClampedSuffix})
	prev := k.Instances["i-1"].LastOccurredAt
	for _, e := range evs {
		if e.InstanceID == "" {
			continue
		}
		if e.OccurredAt.Before(prev) {
			t.Errorf("seq %d %s at %s, before the previous event at %s", e.Seq, e.Type, formatTime(e.OccurredAt),
				formatTime(prev))
		}
		if !strings.HasSuffix(string(e.Evidence), string(model.ClampedSuffix)) {
			t.Errorf("seq %d %s dated %s by %q: a backwards source time must be flagged", e.Seq, e.Type,
				formatTime(e.OccurredAt), e.Evidence)
		}
		prev = e.OccurredAt
	}
	if n := countType(evs, model.EventInstanceDetailsChanged); n != 1 {
		t.Errorf("%d details events, want 1", n)
	}
}

// Without source timestamps, events are dated by the observation time.
func TestMissingTimestampsFallBackToObservation(t *testing.T) {
	t.Parallel()
	now := sec(500)
	t.Run("no times at all", func(t *testing.T) {
		t.Parallel()
		obs := invocation("Success", nil, instance("i-1", "Success", nil, nil, nil, nil))
		obs.Attributes.CreationTime = nil
		var k *model.KnownInvocation
		evs := observe(t, &k, obs, now)
		for _, e := range evs {
			if !e.OccurredAt.Equal(now) || e.Evidence != model.EvidenceObserved {
				t.Errorf("seq %d %s at %s (%s), want %s (observed)", e.Seq, e.Type, formatTime(e.OccurredAt),
					e.Evidence, formatTime(now))
			}
		}
		// No StartTime: it never ran, no Running step.
		assertStatusEvents(t, evs, "i-1",
			wantStatus{"", "Pending", now, model.EvidenceObserved},
			wantStatus{"Pending", "Success", now, model.EvidenceObserved})
	})
	t.Run("running without StartTime or UpdateTime", func(t *testing.T) {
		t.Parallel()
		var k *model.KnownInvocation
		observe(t, &k, invocation("Pending", nil, instance("i-1", "Pending", tp(0), nil, nil, nil)), sec(10))
		evs := observe(t, &k, invocation("Running", nil, instance("i-1", "Running", tp(0), nil, nil, nil)), now)
		assertStatusEvents(t, evs, "i-1", wantStatus{"Pending", "Running", now, model.EvidenceObserved})
	})
	t.Run("running with UpdateTime only", func(t *testing.T) {
		t.Parallel()
		var k *model.KnownInvocation
		observe(t, &k, invocation("Pending", nil, instance("i-1", "Pending", tp(0), nil, nil, nil)), sec(10))
		evs := observe(t, &k, invocation("Running", nil, instance("i-1", "Running", tp(0), nil, nil, tp(42))), now)
		assertStatusEvents(t, evs, "i-1", wantStatus{"Pending", "Running", sec(42), model.EvidenceUpdateTime})
	})
	t.Run("finished without FinishTime", func(t *testing.T) {
		t.Parallel()
		var k *model.KnownInvocation
		observe(t, &k, invocation("Running", nil, instance("i-1", "Running", tp(0), tp(5), nil, tp(5))), sec(10))
		evs := observe(t, &k, invocation("Failed", nil, instance("i-1", "Timeout", tp(0), tp(5), nil, nil)), now)
		assertStatusEvents(t, evs, "i-1", wantStatus{"Running", "Timeout", now, model.EvidenceObserved})
	})
}

func TestTagsAndReportedStatusChangeOneEventEach(t *testing.T) {
	t.Parallel()
	var k *model.KnownInvocation
	observe(t, &k, invocation("Running", []model.Tag{{Key: "env", Value: "prod"}},
		instance("i-1", "Running", tp(0), tp(5), nil, tp(5)),
		instance("i-2", "Success", tp(0), tp(5), tp(8), tp(8))), sec(10))

	newTags := []model.Tag{{Key: "env", Value: "dev"}, {Key: "team", Value: "ops"}}
	obs := invocation("PartialFailed", newTags,
		instance("i-1", "Failed", tp(0), tp(5), tp(50), tp(50)),
		instance("i-2", "Success", tp(0), tp(5), tp(8), tp(8)))
	obs.RawTags = map[string]any{"Tag": []any{map[string]any{"TagKey": "env", "TagValue": "dev"}}}
	evs := observe(t, &k, obs, sec(100))
	if n := countType(evs, model.EventTagsChanged); n != 1 {
		t.Errorf("%d tags_changed events, want 1: %s", n, dump(evs))
	}
	if n := countType(evs, model.EventReportedStatusChanged); n != 1 {
		t.Errorf("%d reported_status_changed events, want 1: %s", n, dump(evs))
	}
	if n := len(evs); n != 4 {
		t.Errorf("%d events, want tags + status + details + reported: %s", n, dump(evs))
	}
	for _, e := range evs {
		switch e.Type {
		case model.EventTagsChanged:
			var d model.InvocationDetail
			if err := json.Unmarshal(e.Detail, &d); err != nil || !model.TagsEqual(d.Tags, newTags) || d.Attributes != nil {
				t.Errorf("tags detail %s (%v)", e.Detail, err)
			}
			var p map[string]any
			_ = json.Unmarshal(e.Payload, &p)
			if _, ok := p["Tags"]; !ok {
				t.Errorf("tags payload %s lacks the verbatim Tags", e.Payload)
			}
		case model.EventReportedStatusChanged:
			// Dated by the instance transition that moved it (50 s); the
			// tags event of the same observation is dated by the observation
			// and comes first, so the date may be raised to it, but then it
			// must say so.
			dated := e.OccurredAt.Equal(sec(50)) && e.Evidence == model.EvidenceInstances
			raised := e.OccurredAt.Equal(sec(100)) && e.Evidence == model.EvidenceInstances+model.ClampedSuffix
			if e.FromStatus != "Running" || e.ToStatus != "PartialFailed" || !(dated || raised) {
				t.Errorf("reported %q→%q at %s (%s)", e.FromStatus, e.ToStatus, formatTime(e.OccurredAt), e.Evidence)
			}
		}
	}
	if !model.TagsEqual(k.Tags, newTags) || k.ReportedStatus != "PartialFailed" || k.DerivedStatus() != "PartialFailed" {
		t.Errorf("folded: tags %v reported %q derived %q", k.Tags, k.ReportedStatus, k.DerivedStatus())
	}

	// Reported status moving with no instance transition is dated by the
	// observation; removing every tag is one more tags event.
	evs = observe(t, &k, invocation("Failed", nil,
		instance("i-1", "Failed", tp(0), tp(5), tp(50), tp(50)),
		instance("i-2", "Success", tp(0), tp(5), tp(8), tp(8))), sec(200))
	if len(evs) != 2 || countType(evs, model.EventTagsChanged) != 1 || countType(evs, model.EventReportedStatusChanged) != 1 {
		t.Fatalf("events: %s", dump(evs))
	}
	for _, e := range evs {
		if !e.OccurredAt.Equal(sec(200)) || e.Evidence != model.EvidenceObserved {
			t.Errorf("seq %d %s at %s (%s), want %s (observed)", e.Seq, e.Type, formatTime(e.OccurredAt), e.Evidence,
				formatTime(sec(200)))
		}
	}
	if len(k.Tags) != 0 {
		t.Errorf("tags after removal: %v", k.Tags)
	}
}

func TestAttributesChangedIsOneEvent(t *testing.T) {
	t.Parallel()
	var k *model.KnownInvocation
	obs := invocation("Pending", nil, instance("i-1", "Pending", tp(0), nil, nil, tp(0)))
	observe(t, &k, obs, sec(10))
	obs.Attributes.Description = "edited"
	evs := observe(t, &k, obs, sec(20))
	if len(evs) != 1 || evs[0].Type != model.EventInvocationAttributesChanged {
		t.Fatalf("events: %s", dump(evs))
	}
	if k.Attributes.Description != "edited" {
		t.Errorf("folded description %q", k.Attributes.Description)
	}
}

func TestDuplicateInstanceIDsDoNotDuplicateEvents(t *testing.T) {
	t.Parallel()
	i1 := instance("i-1", "Success", tp(0), tp(5), tp(9), tp(9))
	i2 := instance("i-2", "Running", tp(0), tp(5), nil, tp(5))
	clean, err := diff.Invocation(nil, invocation("Running", nil, i1, i2), sec(20))
	if err != nil {
		t.Fatal(err)
	}
	dup, err := diff.Invocation(nil, invocation("Running", nil, i1, i2, i1, i1), sec(20))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(clean, dup) {
		t.Errorf("duplicated instance changed the events:\n%s\nvs\n%s", dump(dup), dump(clean))
	}
	if n := countType(dup, model.EventInstanceDiscovered); n != 2 {
		t.Errorf("%d instance_discovered events for 2 distinct instances", n)
	}
	// Also against a known state.
	var k *model.KnownInvocation
	observe(t, &k, invocation("Running", nil, i2), sec(10))
	evs := observe(t, &k, invocation("Running", nil, i2, i1, i2, i1), sec(20))
	if n := countType(evs, model.EventInstanceDiscovered); n != 1 || len(statusEvents(evs, "i-1")) != 3 {
		t.Errorf("events: %s", dump(evs))
	}
}

func TestInstanceOrderDoesNotMatter(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 7))
	ins := []model.Instance{
		instance("i-3", "Pending", tp(0), nil, nil, tp(0)),
		instance("i-1", "Success", tp(0), tp(5), tp(9), tp(9)),
		instance("i-2", "Running", tp(0), tp(5), nil, tp(5)),
		instance("i-4", "Invalid", tp(0), nil, tp(3), tp(3)),
	}
	want, err := diff.Invocation(nil, invocation("Pending", nil, ins...), sec(20))
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		r.Shuffle(len(ins), func(a, b int) { ins[a], ins[b] = ins[b], ins[a] })
		got, err := diff.Invocation(nil, invocation("Pending", nil, ins...), sec(20))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("order %v changed the events (%v):\n%s\nvs\n%s", ins, err, dump(got), dump(want))
		}
	}
}

func TestExpired(t *testing.T) {
	t.Parallel()
	var k *model.KnownInvocation
	observe(t, &k, invocation("Success", nil, instance("i-1", "Success", tp(0), tp(5), tp(9), tp(9))), sec(10))
	lastSeq := k.LastSeq

	ev, err := diff.Expired(k, sec(5000))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Seq != lastSeq+1 || ev.Type != model.EventSourceExpired || ev.InvokeID != "f-edge" || ev.InstanceID != "" ||
		ev.FromStatus != "Success" || !ev.OccurredAt.Equal(sec(5000)) || ev.Evidence != model.EvidenceObserved {
		t.Errorf("expired event = %+v", ev)
	}
	if !json.Valid(ev.Payload) {
		t.Errorf("payload %q is not JSON", ev.Payload)
	}
	// Expired is pure: the state is not touched until the event is applied.
	if k.LastSeq != lastSeq || k.ExpiredAt != nil {
		t.Errorf("Expired modified the known state")
	}
	if err := k.Apply([]model.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if k.ExpiredAt == nil || !k.ExpiredAt.Equal(sec(5000)) {
		t.Errorf("ExpiredAt = %v", k.ExpiredAt)
	}

	// An observation time before the last invocation-level event is clamped.
	early, err := diff.Expired(k, sec(-100))
	if err != nil {
		t.Fatal(err)
	}
	if early.Seq != lastSeq+2 || early.OccurredAt.Before(sec(5000)) ||
		early.Evidence != model.EvidenceObserved+model.ClampedSuffix {
		t.Errorf("early expiry = seq %d at %s (%s)", early.Seq, formatTime(early.OccurredAt), early.Evidence)
	}
}

func TestKnownStateOfAnotherInvocationIsRejected(t *testing.T) {
	t.Parallel()
	k := model.NewKnownInvocation("f-other")
	k.LastSeq = 3
	if evs, err := diff.Invocation(k, invocation("Pending", nil), sec(0)); err == nil {
		t.Errorf("diff against another invocation's state gave %d events and no error", len(evs))
	}
}

// An empty known state (no events yet) is the same as none.
func TestEmptyKnownStateIsLikeNil(t *testing.T) {
	t.Parallel()
	obs := invocation("Running", []model.Tag{{Key: "a", Value: "b"}}, instance("i-1", "Running", tp(0), tp(5), nil, tp(5)))
	a, err := diff.Invocation(nil, obs, sec(10))
	if err != nil {
		t.Fatal(err)
	}
	b, err := diff.Invocation(model.NewKnownInvocation("f-edge"), obs, sec(10))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("nil and empty known state differ:\n%s\nvs\n%s", dump(a), dump(b))
	}
}

// Changes that do not move forward along Pending → Running → terminal are one
// transition each, never dropped and never padded with inferred steps.
func TestNonForwardChangesAreOneStep(t *testing.T) {
	t.Parallel()
	var k *model.KnownInvocation
	observe(t, &k, invocation("Running", nil, instance("i-1", "Running", tp(0), tp(5), nil, tp(5))), sec(10))
	// Requeued: back to Pending, dated by UpdateTime.
	evs := observe(t, &k, invocation("Pending", nil, instance("i-1", "Pending", tp(0), nil, nil, tp(15))), sec(20))
	assertStatusEvents(t, evs, "i-1", wantStatus{"Running", "Pending", sec(15), model.EvidenceUpdateTime})
	// Forward again: Running at its new StartTime.
	evs = observe(t, &k, invocation("Success", nil, instance("i-1", "Success", tp(0), tp(25), tp(28), tp(28))), sec(30))
	assertStatusEvents(t, evs, "i-1",
		wantStatus{"Pending", "Running", sec(25), model.EvidenceStartTime},
		wantStatus{"Running", "Success", sec(28), model.EvidenceFinishTime})
	// The cloud revises a terminal status: one terminal → terminal event.
	evs = observe(t, &k, invocation("Failed", nil, instance("i-1", "Failed", tp(0), tp(25), tp(40), tp(40))), sec(50))
	assertStatusEvents(t, evs, "i-1", wantStatus{"Success", "Failed", sec(40), model.EvidenceFinishTime})
	if got := k.DerivedStatus(); got != model.AggregateFailed {
		t.Errorf("derived %q, want Failed", got)
	}
}
