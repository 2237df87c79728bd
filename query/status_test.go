package query_test

import (
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
)

func ts(min int) time.Time {
	return time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(min) * time.Minute)
}

func ev(seq int64, typ model.EventType, instance string, from, to model.Status, occurred, recorded int, detail string) store.StoredEvent {
	e := store.StoredEvent{Event: model.Event{InvokeID: "f-1", InstanceID: instance, Seq: seq, Type: typ, FromStatus: from,
		ToStatus: to, OccurredAt: ts(occurred), Evidence: "test"}, RecordedAt: ts(recorded)}
	if detail != "" {
		e.Detail = []byte(detail)
	}
	return e
}

// Valid time and transaction time are independent axes: an answer "as known
// at K" ignores what was recorded after K, even about earlier instants.
func TestStatusAtIsBitemporal(t *testing.T) {
	t.Parallel()
	events := []store.StoredEvent{
		ev(1, model.EventInvocationDiscovered, "", "", "Running", 0, 30, `{"attributes":{},"tags":[]}`),
		ev(2, model.EventInstanceDiscovered, "i-a", "", "", 0, 30, `{"error_code":""}`),
		ev(3, model.EventInstanceStatusChanged, "i-a", "", "Pending", 0, 30, ""),
		ev(4, model.EventInstanceStatusChanged, "i-a", "Pending", "Running", 1, 30, ""),
		ev(5, model.EventInstanceDiscovered, "i-b", "", "", 0, 30, `{"error_code":""}`),
		ev(6, model.EventInstanceStatusChanged, "i-b", "", "Pending", 0, 30, ""),
		// Learned at minute 90: i-a had failed at minute 20, i-b succeeded at 40.
		ev(7, model.EventInstanceStatusChanged, "i-a", "Running", "Failed", 20, 90, ""),
		ev(8, model.EventInstanceDetailsChanged, "i-a", "", "", 20, 90, `{"error_code":"DeliveryTimeout","error_info":"timeout"}`),
		ev(9, model.EventInstanceStatusChanged, "i-b", "Pending", "Success", 40, 90, ""),
		ev(10, model.EventReportedStatusChanged, "", "Running", "PartialFailed", 40, 90, ""),
	}
	k60 := ts(60)
	cases := []struct {
		at      int
		knownAt *time.Time
		want    model.Status
		a, b    model.Status
		errCode string
	}{
		{at: 0, want: "Pending", a: "Pending", b: "Pending"},
		{at: 1, want: "Pending", a: "Running", b: "Pending"},
		{at: 25, want: "Pending", a: "Failed", b: "Pending", errCode: "DeliveryTimeout"},
		{at: 45, want: "PartialFailed", a: "Failed", b: "Success", errCode: "DeliveryTimeout"},
		{at: 45, knownAt: &k60, want: "Pending", a: "Running", b: "Pending"},
	}
	for _, c := range cases {
		st, ok := query.StatusAt(events, ts(c.at), c.knownAt)
		if !ok {
			t.Fatalf("at %d: not found", c.at)
		}
		if st.Status != c.want || len(st.Instances) != 2 || st.Instances[0].Status != c.a || st.Instances[1].Status != c.b ||
			st.Instances[0].ErrorCode != c.errCode {
			t.Errorf("at %d known %v: got %+v", c.at, c.knownAt, st)
		}
	}
	if _, ok := query.StatusAt(events, ts(-1), nil); ok {
		t.Error("a send has no status before its first event")
	}
	k10 := ts(10)
	if _, ok := query.StatusAt(events, ts(45), &k10); ok {
		t.Error("as known before anything was recorded, the send is unknown")
	}
	if st, _ := query.StatusAt(events, ts(45), nil); st.ReportedStatus != "PartialFailed" {
		t.Errorf("reported status %q", st.ReportedStatus)
	}
}

// A walk whose oldest listed record is newer than the previous walk's start
// leaves a gap; overlapping walks do not.
func TestCoverageGaps(t *testing.T) {
	t.Parallel()
	target := store.Target{ID: 1, Region: "cn-hangzhou"}
	p := func(m int) *time.Time { v := ts(m); return &v }
	runs := []store.Run{
		{TargetID: 1, StartedAt: ts(0), FinishedAt: p(1), Outcome: "ok", CompleteWalk: true, OldestListed: p(-500)},
		{TargetID: 1, StartedAt: ts(60), FinishedAt: p(61), Outcome: "ok", CompleteWalk: true, OldestListed: p(-400)},
		{TargetID: 1, StartedAt: ts(120), Outcome: "failed"},
		{TargetID: 1, StartedAt: ts(600), FinishedAt: p(601), Outcome: "ok", CompleteWalk: true, OldestListed: p(100)},
	}
	cov := query.Coverage([]store.Target{target}, runs)
	if len(cov) != 1 || cov[0].Runs != 4 || cov[0].CompleteWalks != 3 || cov[0].FailedRuns != 1 {
		t.Fatalf("%+v", cov)
	}
	if len(cov[0].Gaps) != 1 || !cov[0].Gaps[0].From.Equal(ts(60)) || !cov[0].Gaps[0].To.Equal(ts(100)) {
		t.Fatalf("gaps %+v", cov[0].Gaps)
	}
}

// A tracked source (EFLO) is polled by id, never listed: listing coverage
// does not apply to it, so it has neither gaps nor a partial period, even
// with runs that, for a listed source, would leave a gap.
func TestCoverageOfTrackedTargets(t *testing.T) {
	t.Parallel()
	p := func(m int) *time.Time { v := ts(m); return &v }
	targets := []store.Target{{ID: 1, Region: "cn-wulanchabu", Source: model.SourceEFLOCommands},
		{ID: 2, Region: "cn-wulanchabu", Source: model.SourceCommands}}
	var runs []store.Run
	for _, id := range []int64{1, 2} {
		runs = append(runs,
			store.Run{TargetID: id, StartedAt: ts(0), FinishedAt: p(1), Outcome: "ok", CompleteWalk: true, OldestListed: p(-5)},
			store.Run{TargetID: id, StartedAt: ts(600), FinishedAt: p(601), Outcome: "ok", CompleteWalk: true, OldestListed: p(100)})
	}
	cov := query.Coverage(targets, runs)
	if !cov[0].Tracked || len(cov[0].Gaps) != 0 || cov[0].CompleteWalks != 0 || cov[0].Runs != 2 {
		t.Errorf("tracked target: %+v", cov[0])
	}
	if cov[1].Tracked || len(cov[1].Gaps) != 1 {
		t.Errorf("listed target: %+v", cov[1])
	}
}
