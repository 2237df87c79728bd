package diff_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/diff"
	"github.com/cloudassistant/sendfile-archive/model"
)

// coverage counts the scenarios the random generator reached, so that a
// generator change that stops exercising them fails loudly instead of
// quietly weakening the properties.
type coverage struct {
	firstSeenFinished    int // first observation already terminal
	firstSeenFinishedRan int // ... with a StartTime: Pending, Running and terminal all inferred
	firstSeenRunning     int
	pendingToFinished    int // seen Pending, next seen terminal after running: Running inferred
	pendingToRunning     int
	runningToFinished    int
	neverStarted         int // terminal without StartTime (Invalid and friends)
	duplicates           int // an observation listing an instance twice
	tagChanges           int
	reportedChanges      int
	tiedTimestamps       int // Start == Finish or Creation == Start
}

func (c coverage) check(t *testing.T) {
	t.Helper()
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		if v.Field(i).Int() < 5 {
			t.Errorf("generator reached scenario %s only %d times; the properties are not exercised",
				v.Type().Field(i).Name, v.Field(i).Int())
		}
	}
}

// TestInvocationPropertiesOnRandomLifecycles polls random instance lifecycles
// at random instants, feeds every observation through diff.Invocation and
// KnownInvocation.Apply the way ingest does, and checks the event log against
// the ground truth.
func TestInvocationPropertiesOnRandomLifecycles(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(seed, 0x5eed))
			var cov coverage
			for n := range 300 {
				s := randomSend(r, n)
				polls := randomPolls(r)
				if !checkSend(t, r, s, polls, &cov) {
					t.Fatalf("seed %d, send %d: lifecycles %s, polls %v", seed, n, describe(s), polls)
				}
			}
			cov.check(t)
			t.Logf("scenarios reached: %+v", cov)
		})
	}
}

func describe(s send) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s created %s;", s.id, formatTime(s.created))
	for _, l := range s.instances {
		started := "never"
		if l.started != nil {
			started = formatTime(*l.started)
		}
		fmt.Fprintf(&b, " [%s created %s started %s %s at %s]", l.id, formatTime(l.created), started,
			l.terminal, formatTime(l.finished))
	}
	return b.String()
}

// checkSend runs one invocation through its polls and reports whether every
// property held (failures are reported on t).
func checkSend(t *testing.T, r *rand.Rand, s send, polls []time.Time, cov *coverage) bool {
	t.Helper()
	var (
		known    *model.KnownInvocation
		log      []model.Event
		reported model.Status
		tags     []model.Tag
		lastPoll time.Time
		seen     bool
		prevSeen = map[string]model.Status{} // instance → status at its previous sighting
	)
	for _, l := range s.instances {
		if l.started != nil && (l.started.Equal(l.created) || l.started.Equal(l.finished)) {
			cov.tiedTimestamps++
		}
	}
	for _, p := range polls {
		if !s.listedAt(p) {
			continue
		}
		// The cloud's own aggregate; sometimes it lags one poll behind.
		prevReported := reported
		if !seen || r.IntN(4) != 0 {
			reported = model.Aggregate(s.trueStatuses(p))
		}
		prevTags := tags
		if r.IntN(5) == 0 {
			tags = tagSets[r.IntN(len(tagSets))]
		}
		obs := s.observation(p, reported, tags, r)
		if seen && !model.TagsEqual(prevTags, tags) {
			cov.tagChanges++
		}
		if seen && prevReported != reported {
			cov.reportedChanges++
		}
		ids := map[string]bool{}
		for _, in := range obs.Instances {
			if ids[in.InstanceID] {
				cov.duplicates++
			}
			ids[in.InstanceID] = true
		}
		countScenarios(obs, prevSeen, cov)

		var lastSeq int64
		if known != nil {
			lastSeq = known.LastSeq
		}
		evs, err := diff.Invocation(known, obs, p)
		if err != nil {
			t.Errorf("poll %s: diff: %v", formatTime(p), err)
			return false
		}
		// Pure: the same inputs give the same events (a re-run cycle appends
		// exactly what the crashed one would have).
		evs2, err := diff.Invocation(known, obs, p)
		if err != nil || !reflect.DeepEqual(evs, evs2) {
			t.Errorf("poll %s: diff is not deterministic: %v", formatTime(p), err)
			return false
		}
		if !checkBatch(t, s.id, lastSeq, evs, true) {
			return false
		}
		if known == nil {
			if len(evs) == 0 {
				t.Errorf("poll %s: first observation produced no events", formatTime(p))
				return false
			}
			known = model.NewKnownInvocation(s.id)
		}
		if err := known.Apply(evs); err != nil {
			t.Errorf("poll %s: apply: %v", formatTime(p), err)
			return false
		}
		log = append(log, evs...)

		// (a) Idempotent: the same observation again, now or an hour later,
		// carries nothing new.
		for _, now := range []time.Time{p, p.Add(time.Hour)} {
			again, err := diff.Invocation(known, obs, now)
			if err != nil || len(again) != 0 {
				t.Errorf("poll %s: re-diff at %s gave %d events (%v): %s", formatTime(p), formatTime(now),
					len(again), err, dump(again))
				return false
			}
		}
		seen, lastPoll = true, p
	}
	if !seen {
		return true
	}
	ok := checkInvocationEvents(t, s, log)
	for _, l := range s.instances {
		ok = checkInstanceEvents(t, l, log, lastPoll) && ok
	}
	ok = checkPointInTime(t, r, s, log, lastPoll) && ok

	// (f) The derived aggregate of the folded state is the aggregate of the
	// true statuses at the last poll.
	if got, want := known.DerivedStatus(), model.Aggregate(s.trueStatuses(lastPoll)); got != want {
		t.Errorf("derived aggregate at last poll %s = %q, truth %q", formatTime(lastPoll), got, want)
		ok = false
	}
	if known.ReportedStatus != reported {
		t.Errorf("folded ReportedStatus = %q, last observed %q", known.ReportedStatus, reported)
		ok = false
	}
	if !model.TagsEqual(known.Tags, tags) {
		t.Errorf("folded Tags = %v, last observed %v", known.Tags, tags)
		ok = false
	}

	// The projection is a pure function of the log: one fold of the whole
	// log gives the state built incrementally.
	rebuilt := model.NewKnownInvocation(s.id)
	if err := rebuilt.Apply(log); err != nil {
		t.Errorf("rebuild: %v", err)
		return false
	}
	rebuilt.Disagreements, known.Disagreements = 0, 0
	a, _ := json.Marshal(rebuilt)
	b, _ := json.Marshal(known)
	if string(a) != string(b) {
		t.Errorf("rebuilt state\n%s\ndiffers from incremental state\n%s", a, b)
		ok = false
	}
	return ok
}

func countScenarios(obs model.Invocation, prevSeen map[string]model.Status, cov *coverage) {
	for _, in := range obs.Instances {
		prev, wasSeen := prevSeen[in.InstanceID]
		switch {
		case !wasSeen && model.IsTerminal(in.Status):
			cov.firstSeenFinished++
			if in.StartTime != nil {
				cov.firstSeenFinishedRan++
			}
		case !wasSeen && in.Status == model.StatusRunning:
			cov.firstSeenRunning++
		case prev == model.StatusPending && model.IsTerminal(in.Status) && in.StartTime != nil:
			cov.pendingToFinished++
		case prev == model.StatusPending && in.Status == model.StatusRunning:
			cov.pendingToRunning++
		case prev == model.StatusRunning && model.IsTerminal(in.Status):
			cov.runningToFinished++
		}
		if !wasSeen && model.IsTerminal(in.Status) && in.StartTime == nil {
			cov.neverStarted++
		}
		prevSeen[in.InstanceID] = in.Status
	}
}

// checkBatch checks the invariants of one diff result: (c) seq contiguous
// from the known state's, (d) real changes with evidence and JSON payloads.
// With consistent set, every instance event must be dated by a source
// timestamp: the generated source always gives them, in order.
func checkBatch(t *testing.T, invokeID string, lastSeq int64, evs []model.Event, consistent bool) bool {
	t.Helper()
	ok := true
	for i, e := range evs {
		fail := func(format string, args ...any) {
			t.Errorf("event %d (%s seq %d %s %s→%s): %s", i, e.InstanceID, e.Seq, e.Type, e.FromStatus, e.ToStatus,
				fmt.Sprintf(format, args...))
			ok = false
		}
		if e.InvokeID != invokeID {
			fail("InvokeID %q, want %q", e.InvokeID, invokeID)
		}
		if want := lastSeq + int64(i) + 1; e.Seq != want {
			fail("seq %d, want %d", e.Seq, want)
		}
		if e.Evidence == "" {
			fail("empty evidence")
		}
		if e.OccurredAt.IsZero() || e.OccurredAt.Location() != time.UTC {
			fail("occurred_at %v is zero or not UTC", e.OccurredAt)
		}
		var payload map[string]any
		if !json.Valid(e.Payload) || json.Unmarshal(e.Payload, &payload) != nil || payload == nil {
			fail("payload %q is not a JSON object", e.Payload)
		}
		if e.Detail != nil && !json.Valid(e.Detail) {
			fail("detail %q is not JSON", e.Detail)
		}
		switch e.Type {
		case model.EventInstanceStatusChanged:
			if e.FromStatus == e.ToStatus {
				fail("status event that changes nothing")
			}
			if e.ToStatus == "" {
				fail("status event without a target status")
			}
			if _, has := payload["InvocationStatus"]; !has {
				fail("status event payload %s lacks the verbatim InvocationStatus", e.Payload)
			}
			fallthrough
		case model.EventInstanceDiscovered, model.EventInstanceDetailsChanged:
			if e.InstanceID == "" {
				fail("instance event without InstanceID")
			}
			if consistent && (strings.HasSuffix(string(e.Evidence), string(model.ClampedSuffix)) || e.Evidence == model.EvidenceObserved) {
				fail("evidence %q on a consistent source", e.Evidence)
			}
		case model.EventInvocationDiscovered, model.EventTagsChanged, model.EventReportedStatusChanged,
			model.EventInvocationAttributesChanged:
			if e.InstanceID != "" {
				fail("invocation-level event with InstanceID")
			}
			if e.Type == model.EventReportedStatusChanged && e.FromStatus == e.ToStatus {
				fail("reported status event that changes nothing")
			}
		default:
			fail("unexpected event type")
		}
	}
	return ok
}

// checkInvocationEvents checks the invocation-level events: one discovery
// dated by the invocation's CreationTime, valid time never going backwards,
// and a consistent chain of reported statuses.
func checkInvocationEvents(t *testing.T, s send, log []model.Event) bool {
	t.Helper()
	ok := true
	if len(log) == 0 || log[0].Type != model.EventInvocationDiscovered || log[0].Seq != 1 {
		t.Errorf("log does not start with invocation_discovered seq 1: %s", dump(log))
		return false
	}
	d := log[0]
	if !d.OccurredAt.Equal(s.created) || d.Evidence != model.EvidenceCreationTime {
		t.Errorf("invocation discovered at %s (%s), want %s (CreationTime)", formatTime(d.OccurredAt), d.Evidence,
			formatTime(s.created))
		ok = false
	}
	reported := d.ToStatus
	last := d.OccurredAt
	for _, e := range log[1:] {
		if e.InstanceID != "" {
			continue
		}
		if e.Type == model.EventInvocationDiscovered {
			t.Errorf("second invocation_discovered at seq %d", e.Seq)
			ok = false
		}
		if e.OccurredAt.Before(last) {
			t.Errorf("invocation-level seq %d occurred_at %s before previous %s", e.Seq, formatTime(e.OccurredAt),
				formatTime(last))
			ok = false
		}
		last = e.OccurredAt
		if e.Type == model.EventReportedStatusChanged {
			if e.FromStatus != reported {
				t.Errorf("reported status seq %d from %q, previous was %q", e.Seq, e.FromStatus, reported)
				ok = false
			}
			reported = e.ToStatus
		}
	}
	return ok
}

// checkInstanceEvents checks one instance's events against its lifecycle:
// (b) valid time never goes backwards, one discovery, and the status events
// are exactly the true transitions up to the last poll, each dated by its own
// source timestamp.
func checkInstanceEvents(t *testing.T, l life, log []model.Event, lastPoll time.Time) bool {
	t.Helper()
	ok := true
	var mine []model.Event
	for _, e := range log {
		if e.InstanceID == l.id {
			mine = append(mine, e)
		}
	}
	if lastPoll.Before(l.created) {
		if len(mine) > 0 {
			t.Errorf("%s: events for an instance that did not exist yet: %s", l.id, dump(mine))
			return false
		}
		return true
	}
	if len(mine) == 0 || mine[0].Type != model.EventInstanceDiscovered {
		t.Errorf("%s: first event is not instance_discovered: %s", l.id, dump(mine))
		return false
	}
	if !mine[0].OccurredAt.Equal(l.created) || mine[0].Evidence != model.EvidenceCreationTime {
		t.Errorf("%s: discovered at %s (%s), want %s", l.id, formatTime(mine[0].OccurredAt), mine[0].Evidence,
			formatTime(l.created))
		ok = false
	}
	var status []model.Event
	for i, e := range mine {
		if i > 0 && e.OccurredAt.Before(mine[i-1].OccurredAt) {
			t.Errorf("%s: seq %d occurred_at %s goes back before seq %d's %s", l.id, e.Seq, formatTime(e.OccurredAt),
				mine[i-1].Seq, formatTime(mine[i-1].OccurredAt))
			ok = false
		}
		switch e.Type {
		case model.EventInstanceDiscovered:
			if i > 0 {
				t.Errorf("%s: discovered twice (seq %d)", l.id, e.Seq)
				ok = false
			}
		case model.EventInstanceStatusChanged:
			status = append(status, e)
		case model.EventInstanceDetailsChanged:
			// Details change only when the instance starts or finishes, and
			// are dated by UpdateTime, which is then that transition's time.
			at := e.OccurredAt
			if e.Evidence != model.EvidenceUpdateTime ||
				!((l.started != nil && at.Equal(*l.started)) || at.Equal(l.finished)) {
				t.Errorf("%s: details changed at %s (%s), not at a transition", l.id, formatTime(at), e.Evidence)
				ok = false
			}
		}
	}
	want := l.transitionsUntil(lastPoll)
	if len(status) != len(want) {
		t.Errorf("%s: status events %s, want transitions %+v", l.id, dump(status), want)
		return false
	}
	for i, e := range status {
		w := want[i]
		if e.FromStatus != w.from || e.ToStatus != w.to || !e.OccurredAt.Equal(w.at) || e.Evidence != w.evidence {
			t.Errorf("%s: status event seq %d %q→%q at %s (%s), want %q→%q at %s (%s)", l.id, e.Seq, e.FromStatus,
				e.ToStatus, formatTime(e.OccurredAt), e.Evidence, w.from, w.to, formatTime(w.at), w.evidence)
			ok = false
			continue
		}
		// The payload carries the verbatim field that dated the event.
		var payload map[string]any
		_ = json.Unmarshal(e.Payload, &payload)
		if got := payload[w.field]; got != formatTime(w.at) {
			t.Errorf("%s: seq %d payload[%s] = %v, want %q", l.id, e.Seq, w.field, got, formatTime(w.at))
			ok = false
		}
	}
	return ok
}

// statusFromLog is the point-in-time rule of DESIGN.md §4: the last
// instance_status_changed event with occurred_at ≤ t, ties broken by seq.
func statusFromLog(log []model.Event, instanceID string, t time.Time) model.Status {
	var best *model.Event
	for i := range log {
		e := &log[i]
		if e.InstanceID != instanceID || e.Type != model.EventInstanceStatusChanged || e.OccurredAt.After(t) {
			continue
		}
		if best == nil || e.OccurredAt.After(best.OccurredAt) ||
			(e.OccurredAt.Equal(best.OccurredAt) && e.Seq > best.Seq) {
			best = e
		}
	}
	if best == nil {
		return ""
	}
	return best.ToStatus
}

// checkPointInTime is property (e): for instants up to the last poll —
// random ones and every lifecycle boundary with its neighbours — the log's
// point-in-time status of every instance, and the aggregate over them, is the
// truth, even for stretches no poll saw.
func checkPointInTime(t *testing.T, r *rand.Rand, s send, log []model.Event, lastPoll time.Time) bool {
	t.Helper()
	var instants []time.Time
	for range 40 {
		instants = append(instants, base.Add(-30*time.Second+time.Duration(r.Int64N(int64(lastPoll.Sub(base)+31*time.Second)))))
	}
	for _, l := range s.instances {
		points := []time.Time{l.created, l.finished}
		if l.started != nil {
			points = append(points, *l.started)
		}
		for _, p := range points {
			instants = append(instants, p.Add(-time.Nanosecond), p, p.Add(time.Nanosecond))
		}
	}
	instants = append(instants, lastPoll)
	ok := true
	for _, at := range instants {
		if at.After(lastPoll) {
			continue // the archive cannot know what happened after its last poll
		}
		var got, want []model.Status
		for _, l := range s.instances {
			g, w := statusFromLog(log, l.id, at), l.statusAt(at)
			if g != w {
				t.Errorf("%s at %s: log says %q, truth %q", l.id, formatTime(at), g, w)
				ok = false
			}
			if g != "" {
				got = append(got, g)
			}
			if w != "" {
				want = append(want, w)
			}
		}
		if g, w := model.Aggregate(got), model.Aggregate(want); g != w {
			t.Errorf("aggregate at %s: log says %q, truth %q", formatTime(at), g, w)
			ok = false
		}
		if !ok {
			return false
		}
	}
	return ok
}

func dump(evs []model.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  seq %d %s %s %q→%q at %s (%s)", e.Seq, e.Type, e.InstanceID, e.FromStatus, e.ToStatus,
			formatTime(e.OccurredAt), e.Evidence)
	}
	return b.String()
}
