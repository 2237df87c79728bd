package diff_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/diff"
	"github.com/cloudassistant/sendfile-archive/model"
)

// The fuzz input is read as a stream of choices (an exhausted stream reads as
// zeros):
//
//	[instances-1 (mod 4)] [observations-1 (mod 6)] [invocation CreationTime stamp]
//	per observation:
//	  [now delta, int8 seconds] [reported status (mod 7)] [bits: tag set (2), name (1), reverse order (1)]
//	  per instance:
//	    [presence: 0 absent, 1 listed twice, else once (mod 8)] [status (mod 10)]
//	    [CreationTime stamp] [StartTime stamp] [FinishTime stamp] [UpdateTime stamp] [error code (mod 3)]
//	[expiry delta, int8 seconds]
//
// A stamp byte b is "no timestamp" when b%4 == 0, else base + int8(b) seconds:
// timestamps go backwards, tie and vanish as the bytes please.
var (
	// Besides the documented statuses: an undocumented one, and the blank
	// status ParsePage gives an instance whose InvocationStatus is missing,
	// null or whitespace.
	fuzzStatuses = append(slices.Clone(model.InstanceStatuses), "Stopping", "")
	fuzzReported = []string{"", "Pending", "Running", "Success", "Failed", "PartialFailed", "Stopping"}
	fuzzTagSets  = [][]model.Tag{
		nil,
		{{Key: "owner", Value: "zhangsan"}},
		{{Key: "env", Value: "prod"}, {Key: "owner", Value: "zhangsan"}},
		{{Key: "env", Value: "dev"}, {Key: "env", Value: "prod"}},
	}
	fuzzErrorCodes = []string{"", "InstanceNotExists", "NodeNotExists"}
)

const fuzzInvokeID = "f-fuzz"

type fuzzChoices struct {
	b []byte
	i int
}

func (c *fuzzChoices) next() byte {
	if c.i >= len(c.b) {
		return 0
	}
	v := c.b[c.i]
	c.i++
	return v
}

func (c *fuzzChoices) pick(n int) int { return int(c.next()) % n }

func (c *fuzzChoices) stamp() *time.Time {
	v := c.next()
	if v%4 == 0 {
		return nil
	}
	t := base.Add(time.Duration(int8(v)) * time.Second)
	return &t
}

type fuzzObservation struct {
	now        time.Time
	obs        model.Invocation
	duplicates bool
}

// fuzzScenario decodes the choices into a sequence of observations of one
// invocation, each shaped as ParsePage would produce it.
func fuzzScenario(c *fuzzChoices) []fuzzObservation {
	n := 1 + c.pick(4)
	rounds := 1 + c.pick(6)
	created := c.stamp()
	now := base.Add(200 * time.Second)
	var out []fuzzObservation
	for range rounds {
		now = now.Add(time.Duration(int8(c.next())) * time.Second)
		reported := fuzzReported[c.pick(len(fuzzReported))]
		bits := c.next()
		tags := slices.Clone(fuzzTagSets[bits%4])
		name := "test.txt"
		if bits&4 != 0 {
			name = "renamed.txt"
		}
		rawTags := make([]any, 0, len(tags))
		for _, t := range tags {
			rawTags = append(rawTags, map[string]any{"TagKey": t.Key, "TagValue": t.Value})
		}
		o := fuzzObservation{now: now, obs: model.Invocation{
			InvokeID:       fuzzInvokeID,
			Attributes:     model.Attributes{Name: name, FileMode: "0644", CreationTime: created},
			ReportedStatus: model.Status(reported), RawStatus: reported, Tags: tags,
			RawTags: map[string]any{"Tag": rawTags},
			Raw:     map[string]any{"InvokeId": fuzzInvokeID, "Name": name, "InvocationStatus": reported},
		}}
		if created != nil {
			o.obs.Raw["CreationTime"] = formatTime(*created)
		}
		for i := range n {
			presence := c.pick(8)
			status := c.pick(len(fuzzStatuses))
			in := instance(fmt.Sprintf("i-%d", i), fuzzStatuses[status], c.stamp(), c.stamp(), c.stamp(), c.stamp())
			if code := fuzzErrorCodes[c.pick(len(fuzzErrorCodes))]; code != "" {
				in.ErrorCode, in.ErrorInfo = code, "info for "+code
				in.Raw["ErrorCode"], in.Raw["ErrorInfo"] = code, in.ErrorInfo
			}
			switch presence {
			case 0:
				continue
			case 1:
				// The source lists the instance twice, the copy with another
				// status: the diff keeps the first.
				o.duplicates = true
				dup := instance(in.InstanceID, fuzzStatuses[(status+1)%len(fuzzStatuses)], nil, nil, nil, nil)
				o.obs.Instances = append(o.obs.Instances, in, dup)
			default:
				o.obs.Instances = append(o.obs.Instances, in)
			}
		}
		if bits&8 != 0 {
			slices.Reverse(o.obs.Instances)
		}
		out = append(out, o)
	}
	return out
}

// fuzzLog is the event log so far, as the checks need it.
type fuzzLog struct {
	lastSeq    int64
	invLast    time.Time // occurred_at of the last invocation-level event
	instLast   map[string]time.Time
	instStatus map[string]model.Status
	discovered map[string]bool
	invocation bool // invocation_discovered seen
	reported   model.Status
}

func FuzzDiff(f *testing.F) {
	// Hand-written scenarios (see the layout above), then the corners.
	f.Add([]byte{ // first seen finished: Pending, Running, Success each dated by its own timestamp
		0, 0, 1,
		5, 3, 0, 2, 4, 1, 2, 3, 3, 0,
	})
	f.Add([]byte{ // Pending, then Success: Running inferred at StartTime
		0, 1, 1,
		5, 1, 1, 2, 0, 1, 0, 0, 0, 0,
		50, 3, 1, 2, 4, 1, 2, 3, 3, 0,
	})
	f.Add([]byte{ // timestamps going backwards: clamped, never trusted
		0, 2, 1,
		5, 2, 0, 2, 2, 1, 10, 0, 10, 0,
		5, 3, 0, 2, 4, 1, 10, 5, 5, 1,
		5, 4, 0, 2, 5, 1, 10, 5, 1, 2,
	})
	f.Add([]byte{ // no timestamps at all, observation time going backwards
		0, 2, 0,
		5, 1, 0, 2, 0, 0, 0, 0, 0, 0,
		0xF6, 2, 0, 2, 2, 0, 0, 0, 0, 0,
		0xF6, 3, 0, 2, 4, 0, 0, 0, 0, 0,
		0xF6,
	})
	f.Add([]byte{ // undocumented status in and out, a second instance appearing late
		1, 3, 1,
		5, 2, 0, 2, 2, 1, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0,
		5, 6, 0, 2, 8, 1, 2, 0, 5, 0, 2, 0, 1, 0, 0, 0, 0,
		5, 2, 0, 2, 2, 1, 2, 0, 6, 0, 2, 1, 1, 2, 3, 3, 0,
		5, 5, 0, 2, 4, 1, 2, 3, 7, 0, 2, 6, 1, 0, 3, 3, 1,
	})
	f.Add([]byte{ // four instances, duplicates, reversed order, tag, name and reported changes
		3, 3, 3,
		1, 1, 8, 1, 0, 1, 0, 0, 1, 0, 2, 0, 1, 0, 0, 1, 0, 2, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0,
		2, 2, 13, 2, 2, 1, 2, 0, 2, 1, 1, 1, 1, 2, 0, 2, 1, 3, 1, 1, 2, 3, 3, 2, 2, 1, 2, 0, 2, 0,
		3, 5, 7, 2, 4, 1, 2, 3, 3, 1, 2, 1, 1, 2, 3, 3, 2, 2, 5, 1, 0, 3, 3, 0, 2, 7, 1, 0, 0, 3, 1,
		4, 0, 2, 2, 4, 1, 2, 3, 3, 0, 2, 5, 1, 2, 3, 3, 0, 2, 5, 1, 0, 3, 3, 0, 2, 7, 1, 0, 0, 3, 1,
		0x80,
	})
	f.Add([]byte{ // ties: Creation == Start == Finish, and now equal to them
		2, 1, 5,
		0, 3, 0, 2, 4, 5, 5, 5, 5, 0, 2, 1, 5, 0, 5, 5, 0, 2, 6, 5, 5, 5, 5, 0,
		0, 3, 0, 2, 4, 5, 5, 5, 5, 0, 2, 1, 5, 0, 5, 5, 0, 2, 4, 5, 5, 5, 5, 0,
	})
	f.Add([]byte{})
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})

	f.Fuzz(func(t *testing.T, data []byte) {
		c := &fuzzChoices{b: data}
		rounds := fuzzScenario(c)
		log := fuzzLog{
			instLast: map[string]time.Time{}, instStatus: map[string]model.Status{}, discovered: map[string]bool{},
		}
		var known *model.KnownInvocation
		refolded := model.NewKnownInvocation(fuzzInvokeID)
		for r, o := range rounds {
			evs := fuzzDiffOnce(t, r, known, o)
			fuzzCheckEvents(t, r, &log, o, evs)
			if known == nil {
				known = model.NewKnownInvocation(fuzzInvokeID)
			}
			if err := known.Apply(evs); err != nil {
				t.Fatalf("round %d: apply: %v\n%s", r, err, dump(evs))
			}
			fuzzCheckRefold(t, r, known, refolded, evs)
			fuzzCheckState(t, r, known, o, &log)
			for _, later := range []time.Duration{0, time.Minute, -time.Hour} {
				again, err := diff.Invocation(known, o.obs, o.now.Add(later))
				if err != nil || len(again) != 0 {
					t.Fatalf("round %d: re-diffing the same observation (now %+v) gave %v\n%s", r, later, err, dump(again))
				}
			}
		}
		if known == nil {
			return
		}
		at := rounds[len(rounds)-1].now.Add(time.Duration(int8(c.next())) * time.Second)
		ev, err := diff.Expired(known, at)
		if err != nil {
			t.Fatalf("expired: %v", err)
		}
		if ev.Seq != log.lastSeq+1 || ev.Type != model.EventSourceExpired || ev.InvokeID != fuzzInvokeID ||
			ev.InstanceID != "" || ev.FromStatus != known.ReportedStatus || ev.Evidence == "" {
			t.Fatalf("expiry event %+v after seq %d, reported %q", ev, log.lastSeq, known.ReportedStatus)
		}
		if ev.OccurredAt.Before(log.invLast) || ev.OccurredAt.Location() != time.UTC {
			t.Fatalf("expiry at %s, before the last invocation-level event %s or not UTC", formatTime(ev.OccurredAt), formatTime(log.invLast))
		}
		fuzzCheckJSON(t, ev)
		if err := known.Apply([]model.Event{ev}); err != nil {
			t.Fatalf("apply expiry: %v", err)
		}
		if known.ExpiredAt == nil || !known.ExpiredAt.Equal(ev.OccurredAt) {
			t.Fatalf("ExpiredAt %v after the expiry event at %s", known.ExpiredAt, formatTime(ev.OccurredAt))
		}
	})
}

// fuzzCheckRefold folds evs as the log gives them back (exported fields
// only, so nothing the diff kept in memory beside an event) into refolded, and
// checks that it matches the state folded from the diff's own events.
func fuzzCheckRefold(t *testing.T, r int, known, refolded *model.KnownInvocation, evs []model.Event) {
	t.Helper()
	raw, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	var logged []model.Event
	if err := json.Unmarshal(raw, &logged); err != nil {
		t.Fatal(err)
	}
	if err := refolded.Apply(logged); err != nil {
		t.Fatalf("round %d: apply the logged events: %v", r, err)
	}
	a, _ := json.Marshal(known)
	b, _ := json.Marshal(refolded)
	if string(a) != string(b) {
		t.Fatalf("round %d: the logged events fold to\n%s\nthe diff's own to\n%s", r, b, a)
	}
}

// fuzzDiffOnce diffs one observation and checks what does not depend on the
// log: no error, purity (known untouched, same answer twice), nil state
// equals empty state, and independence of the instances' listing order.
func fuzzDiffOnce(t *testing.T, r int, known *model.KnownInvocation, o fuzzObservation) []model.Event {
	t.Helper()
	before, err := json.Marshal(known)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := diff.Invocation(known, o.obs, o.now)
	if err != nil {
		t.Fatalf("round %d: diff of a well-formed observation: %v", r, err)
	}
	again, err := diff.Invocation(known, o.obs, o.now)
	if err != nil || !reflect.DeepEqual(evs, again) {
		t.Fatalf("round %d: diff is not deterministic (%v):\n%s\n%s", r, err, dump(evs), dump(again))
	}
	if after, _ := json.Marshal(known); string(after) != string(before) {
		t.Fatalf("round %d: diff modified the known state:\n%s\n%s", r, before, after)
	}
	if known == nil {
		empty, err := diff.Invocation(model.NewKnownInvocation(fuzzInvokeID), o.obs, o.now)
		if err != nil || !reflect.DeepEqual(evs, empty) {
			t.Fatalf("round %d: nil and empty known state differ (%v):\n%s\n%s", r, err, dump(evs), dump(empty))
		}
	}
	if !o.duplicates {
		shuffled := o.obs
		shuffled.Instances = slices.Clone(o.obs.Instances)
		slices.Reverse(shuffled.Instances)
		other, err := diff.Invocation(known, shuffled, o.now)
		if err != nil || !reflect.DeepEqual(evs, other) {
			t.Fatalf("round %d: events depend on the instances' order (%v):\n%s\n%s", r, err, dump(evs), dump(other))
		}
	}
	return evs
}

// fuzzCheckEvents checks one observation's events against the log so far and
// extends the log.
func fuzzCheckEvents(t *testing.T, r int, log *fuzzLog, o fuzzObservation, evs []model.Event) {
	t.Helper()
	firstOf := map[string]model.Instance{}
	for _, in := range o.obs.Instances {
		if _, seen := firstOf[in.InstanceID]; !seen {
			firstOf[in.InstanceID] = in
		}
	}
	var statusTimes []time.Time
	for i, e := range evs {
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("round %d event %d (%s seq %d %s %q→%q at %s, %s): %s\nbatch:\n%s", r, i, e.InstanceID, e.Seq, e.Type,
				e.FromStatus, e.ToStatus, formatTime(e.OccurredAt), e.Evidence, fmt.Sprintf(format, args...), dump(evs))
		}
		if e.Seq != log.lastSeq+1 {
			fail("seq %d after %d", e.Seq, log.lastSeq)
		}
		log.lastSeq = e.Seq
		if e.InvokeID != fuzzInvokeID {
			fail("InvokeID %q", e.InvokeID)
		}
		if e.OccurredAt.IsZero() || e.OccurredAt.Location() != time.UTC {
			fail("occurred_at zero or not UTC")
		}
		fuzzCheckJSON(t, e)
		ev, clamped := strings.CutSuffix(string(e.Evidence), string(model.ClampedSuffix))
		evidence := model.Evidence(ev)
		switch evidence {
		case model.EvidenceCreationTime, model.EvidenceStartTime, model.EvidenceFinishTime, model.EvidenceUpdateTime,
			model.EvidenceInstances, model.EvidenceObserved:
		default:
			fail("evidence %q is not one of the documented values", e.Evidence)
		}

		if e.InstanceID == "" {
			if e.OccurredAt.Before(log.invLast) {
				fail("invocation-level valid time went backwards from %s", formatTime(log.invLast))
			}
			switch {
			case clamped:
				if !e.OccurredAt.Equal(log.invLast) {
					fail("clamped, but not to the previous invocation-level event at %s", formatTime(log.invLast))
				}
			case evidence == model.EvidenceObserved:
				if !e.OccurredAt.Equal(o.now) {
					fail("dated as observed, but not at the observation time %s", formatTime(o.now))
				}
			case evidence == model.EvidenceCreationTime:
				if o.obs.Attributes.CreationTime == nil || !e.OccurredAt.Equal(*o.obs.Attributes.CreationTime) {
					fail("dated by CreationTime %v", o.obs.Attributes.CreationTime)
				}
			case evidence == model.EvidenceInstances:
				if !slices.ContainsFunc(statusTimes, e.OccurredAt.Equal) {
					fail("dated by the instances, but no status event of the batch is at that time")
				}
			default:
				fail("evidence %q on an invocation-level event", e.Evidence)
			}
			log.invLast = e.OccurredAt
			switch e.Type {
			case model.EventInvocationDiscovered:
				if log.invocation || e.Seq != 1 {
					fail("invocation discovered twice or not first")
				}
				log.invocation = true
			case model.EventReportedStatusChanged:
				if e.FromStatus == e.ToStatus || e.FromStatus != log.reported || e.ToStatus != o.obs.ReportedStatus {
					fail("reported status chain broken: was %q, observed %q", log.reported, o.obs.ReportedStatus)
				}
				log.reported = e.ToStatus
			case model.EventTagsChanged, model.EventInvocationAttributesChanged:
				if !log.invocation {
					fail("before the invocation was discovered")
				}
			default:
				fail("unexpected invocation-level event type")
			}
			continue
		}

		in, observed := firstOf[e.InstanceID]
		if !observed {
			fail("event for an instance this observation does not list")
		}
		if !log.invocation {
			fail("instance event before the invocation was discovered")
		}
		last, seen := log.instLast[e.InstanceID]
		if seen && e.OccurredAt.Before(last) {
			fail("instance valid time went backwards from %s", formatTime(last))
		}
		source := map[model.Evidence]*time.Time{
			model.EvidenceCreationTime: in.CreationTime, model.EvidenceStartTime: in.StartTime,
			model.EvidenceFinishTime: in.FinishTime, model.EvidenceUpdateTime: in.UpdateTime,
		}
		switch {
		case clamped:
			if !seen || !e.OccurredAt.Equal(last) {
				fail("clamped, but not to the instance's previous event at %s", formatTime(last))
			}
		case evidence == model.EvidenceObserved:
			if !e.OccurredAt.Equal(o.now) {
				fail("dated as observed, but not at the observation time %s", formatTime(o.now))
			}
		case evidence == model.EvidenceInstances:
			fail("instance event dated by the instances")
		default:
			if ts := source[evidence]; ts == nil || !e.OccurredAt.Equal(*ts) {
				fail("dated by %s, which the observation gives as %v", evidence, ts)
			}
		}
		log.instLast[e.InstanceID] = e.OccurredAt

		switch e.Type {
		case model.EventInstanceDiscovered:
			if log.discovered[e.InstanceID] {
				fail("instance discovered twice")
			}
			log.discovered[e.InstanceID] = true
		case model.EventInstanceStatusChanged:
			if !log.discovered[e.InstanceID] {
				fail("status change before discovery")
			}
			if e.FromStatus == e.ToStatus {
				fail("status event that changes nothing")
			}
			if e.FromStatus != log.instStatus[e.InstanceID] {
				fail("from %q, but the instance was %q", e.FromStatus, log.instStatus[e.InstanceID])
			}
			log.instStatus[e.InstanceID] = e.ToStatus
			statusTimes = append(statusTimes, e.OccurredAt)
		case model.EventInstanceDetailsChanged:
			if !log.discovered[e.InstanceID] {
				fail("details change before discovery")
			}
		default:
			fail("unexpected instance event type")
		}
	}
}

// fuzzCheckJSON checks an event's Evidence, Payload and Detail shapes.
func fuzzCheckJSON(t *testing.T, e model.Event) {
	t.Helper()
	if e.Evidence == "" {
		t.Fatalf("seq %d %s: empty evidence", e.Seq, e.Type)
	}
	var payload map[string]any
	if err := json.Unmarshal(e.Payload, &payload); err != nil || payload == nil {
		t.Fatalf("seq %d %s: payload %q is not a JSON object (%v)", e.Seq, e.Type, e.Payload, err)
	}
	if e.Detail != nil && !json.Valid(e.Detail) {
		t.Fatalf("seq %d %s: detail %q is not JSON", e.Seq, e.Type, e.Detail)
	}
}

// fuzzCheckState checks that the folded state now says what the observation
// said, and that its aggregate is one the rule can give.
func fuzzCheckState(t *testing.T, r int, known *model.KnownInvocation, o fuzzObservation, log *fuzzLog) {
	t.Helper()
	if known.ReportedStatus != o.obs.ReportedStatus || !model.TagsEqual(known.Tags, o.obs.Tags) ||
		!known.Attributes.Equal(o.obs.Attributes) {
		t.Fatalf("round %d: state %+v does not reflect the observation %+v", r, known, o.obs)
	}
	seen := map[string]bool{}
	for _, in := range o.obs.Instances {
		if seen[in.InstanceID] {
			continue
		}
		seen[in.InstanceID] = true
		k := known.Instances[in.InstanceID]
		if k == nil || k.Status != in.Status || !k.Details.Equal(model.DetailsOf(in)) {
			t.Fatalf("round %d: instance %s state %+v, observed %+v", r, in.InstanceID, k, in)
		}
		if k.StatusSince.After(k.LastOccurredAt) {
			t.Fatalf("round %d: instance %s status since %s, after its last event %s", r, in.InstanceID,
				formatTime(k.StatusSince), formatTime(k.LastOccurredAt))
		}
	}
	d := known.DerivedStatus()
	if !slices.Contains(model.AggregateStatuses, d) {
		t.Fatalf("round %d: derived status %q is not an aggregate status", r, d)
	}
	// The projection agrees with the point-in-time rule (DESIGN.md §4) read
	// off the log at the end of time: per instance the last status event
	// (valid time never goes backwards, so the last by seq), then the
	// aggregate rule over those.
	last := make([]model.Status, 0, len(log.instStatus))
	for _, s := range log.instStatus {
		last = append(last, s)
	}
	if want := model.Aggregate(last); d != want {
		t.Fatalf("round %d: derived status %q, but the log's last statuses %q aggregate to %q", r, d, last, want)
	}
}
