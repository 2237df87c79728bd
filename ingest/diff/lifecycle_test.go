package diff_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
)

// This file holds the test's model of the source: instance lifecycles with
// their true status at every instant, and the record the API would render for
// an invocation at a given instant.

var base = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// life is the ground truth of one instance: Pending from created, Running
// from started (never when started is nil), terminal from finished.
type life struct {
	id       string
	created  time.Time
	started  *time.Time
	finished time.Time
	terminal model.Status
	errCode  string
	errInfo  string
}

// statusAt is the true status at t ("" before the instance exists).
func (l life) statusAt(t time.Time) model.Status {
	switch {
	case t.Before(l.created):
		return ""
	case !t.Before(l.finished):
		return l.terminal
	case l.started != nil && !t.Before(*l.started):
		return model.StatusRunning
	}
	return model.StatusPending
}

// transitionsUntil lists the true status transitions that happened at or
// before t, in order.
func (l life) transitionsUntil(t time.Time) []transition {
	var out []transition
	if t.Before(l.created) {
		return nil
	}
	out = append(out, transition{"", model.StatusPending, l.created, model.EvidenceCreationTime, "CreationTime"})
	from := model.StatusPending
	if l.started != nil && !t.Before(*l.started) {
		out = append(out, transition{from, model.StatusRunning, *l.started, model.EvidenceStartTime, "StartTime"})
		from = model.StatusRunning
	}
	if !t.Before(l.finished) {
		out = append(out, transition{from, l.terminal, l.finished, model.EvidenceFinishTime, "FinishTime"})
	}
	return out
}

type transition struct {
	from, to model.Status
	at       time.Time
	evidence model.Evidence
	field    string
}

// formatTime renders a time the way the API does (UTC, fractional seconds
// only when there are any).
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// observe renders the instance as DescribeSendFileResults would at p: status
// at p, StartTime/FinishTime only once reached, UpdateTime the last
// transition reached, ErrorCode/ErrorInfo only when terminal.
func (l life) observe(p time.Time) model.Instance {
	status := l.statusAt(p)
	created := l.created
	in := model.Instance{InstanceID: l.id, Status: status, CreationTime: &created}
	raw := map[string]any{
		"InstanceId": l.id, "InvocationStatus": status, "CreationTime": formatTime(created),
		"ErrorCode": "", "ErrorInfo": "",
	}
	update := created
	if l.started != nil && !p.Before(*l.started) {
		s := *l.started
		in.StartTime = &s
		raw["StartTime"] = formatTime(s)
		update = s
	}
	if !p.Before(l.finished) {
		f := l.finished
		in.FinishTime = &f
		raw["FinishTime"] = formatTime(f)
		update = f
		in.ErrorCode, in.ErrorInfo = l.errCode, l.errInfo
		raw["ErrorCode"], raw["ErrorInfo"] = l.errCode, l.errInfo
	}
	in.UpdateTime = &update
	raw["UpdateTime"] = formatTime(update)
	in.Raw = raw
	return in
}

// send is the ground truth of one invocation.
type send struct {
	id        string
	created   time.Time
	instances []life
	attrs     model.Attributes
}

// listedAt reports whether the source lists the invocation at p.
func (s send) listedAt(p time.Time) bool { return !p.Before(s.created) }

// trueStatuses are the statuses of the instances that exist at p.
func (s send) trueStatuses(p time.Time) []model.Status {
	var out []model.Status
	for _, l := range s.instances {
		if st := l.statusAt(p); st != "" {
			out = append(out, st)
		}
	}
	return out
}

var tagSets = [][]model.Tag{
	nil,
	{{Key: "env", Value: "prod"}},
	{{Key: "env", Value: "prod"}, {Key: "team", Value: "ops"}},
	{{Key: "env", Value: "staging"}},
}

// observation is one poll's record for the invocation, as ParsePage would
// produce it.
func (s send) observation(p time.Time, reported model.Status, tags []model.Tag, r *rand.Rand) model.Invocation {
	inv := model.Invocation{
		InvokeID: s.id, Attributes: s.attrs, Content: "echo hello", ReportedStatus: reported,
		Tags: slices.Clone(tags), RawStatus: reported,
	}
	rawTags := make([]any, 0, len(tags))
	for _, t := range tags {
		rawTags = append(rawTags, map[string]any{"TagKey": t.Key, "TagValue": t.Value})
	}
	inv.RawTags = map[string]any{"Tag": rawTags}
	inv.Raw = map[string]any{
		"InvokeId": s.id, "Name": s.attrs.Name, "InvocationStatus": reported,
		"CreationTime": formatTime(*s.attrs.CreationTime), "Tags": inv.RawTags, "VmCount": json.Number("3"),
	}
	for _, l := range s.instances {
		if !p.Before(l.created) {
			inv.Instances = append(inv.Instances, l.observe(p))
		}
	}
	// The source lists instances in no promised order and, rarely, twice.
	r.Shuffle(len(inv.Instances), func(a, b int) {
		inv.Instances[a], inv.Instances[b] = inv.Instances[b], inv.Instances[a]
	})
	if len(inv.Instances) > 0 && r.IntN(8) == 0 {
		inv.Instances = append(inv.Instances, inv.Instances[r.IntN(len(inv.Instances))])
	}
	return inv
}

// gridTime is a time on a coarse 10 s grid, so that ties between lifecycle
// timestamps and polls are common, with an occasional millisecond fraction as
// in the docs' samples.
func gridTime(r *rand.Rand, from, to int) time.Time {
	t := base.Add(time.Duration(from+10*r.IntN((to-from)/10+1)) * time.Second)
	if r.IntN(4) == 0 {
		t = t.Add(time.Duration(r.IntN(1000)) * time.Millisecond)
	}
	return t
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// randomSend generates one invocation with 1–5 instances.
func randomSend(r *rand.Rand, n int) send {
	created := gridTime(r, 0, 60)
	s := send{id: fmt.Sprintf("f-%04d", n), created: created}
	ct := created
	s.attrs = model.Attributes{Name: "f.txt", ContentSHA256: "sha", ContentType: "PlainText", TargetDir: "/root",
		FileMode: "0644", CreationTime: &ct}
	terminals := []model.Status{model.StatusSuccess, model.StatusSuccess, model.StatusSuccess, model.StatusFailed,
		model.StatusInvalid, model.StatusAborted, model.StatusError, model.StatusTimeout}
	for i := range 1 + r.IntN(5) {
		l := life{id: fmt.Sprintf("i-%02d", i), terminal: terminals[r.IntN(len(terminals))]}
		l.created = later(created, gridTime(r, 0, 120))
		if r.IntN(3) == 0 {
			l.created = created // usually all instances are created with the send
		}
		neverStarts := l.terminal == model.StatusInvalid || r.IntN(7) == 0
		if !neverStarts {
			st := later(l.created, gridTime(r, 0, 250))
			l.started = &st
		}
		switch {
		case r.IntN(7) == 0:
			l.finished = base.Add(100 * time.Hour) // still in progress at every poll
		case l.started != nil:
			l.finished = later(*l.started, gridTime(r, 0, 380))
		default:
			l.finished = later(l.created, gridTime(r, 0, 380))
		}
		if l.terminal != model.StatusSuccess {
			l.errCode, l.errInfo = "DeliveryTimeout", fmt.Sprintf("instance %s: %s", l.id, l.terminal)
		}
		s.instances = append(s.instances, l)
	}
	return s
}

// randomPolls generates 1–7 poll instants (duplicates allowed) in order.
func randomPolls(r *rand.Rand) []time.Time {
	polls := make([]time.Time, 1+r.IntN(7))
	for i := range polls {
		polls[i] = gridTime(r, -20, 420)
	}
	slices.SortFunc(polls, func(a, b time.Time) int { return a.Compare(b) })
	return polls
}

func TestLifecycleModel(t *testing.T) {
	t.Parallel()
	// The test's own oracle must be right before it judges the diff.
	st := base.Add(10 * time.Second)
	l := life{id: "i-1", created: base, started: &st, finished: base.Add(20 * time.Second), terminal: "Failed",
		errCode: "E", errInfo: "I"}
	for _, tc := range []struct {
		at     time.Duration
		status model.Status
	}{
		{-time.Nanosecond, ""}, {0, "Pending"}, {10*time.Second - 1, "Pending"}, {10 * time.Second, "Running"},
		{20*time.Second - 1, "Running"}, {20 * time.Second, "Failed"}, {time.Hour, "Failed"},
	} {
		if got := l.statusAt(base.Add(tc.at)); got != tc.status {
			t.Errorf("statusAt(+%v) = %q, want %q", tc.at, got, tc.status)
		}
	}
	in := l.observe(base.Add(15 * time.Second))
	if in.Status != "Running" || in.StartTime == nil || in.FinishTime != nil || in.ErrorCode != "" ||
		!in.UpdateTime.Equal(st) {
		t.Errorf("observe while running = %+v", in)
	}
	in = l.observe(base.Add(25 * time.Second))
	if in.Status != "Failed" || in.FinishTime == nil || in.ErrorCode != "E" || !in.UpdateTime.Equal(l.finished) {
		t.Errorf("observe after finish = %+v", in)
	}
	if n := len(l.transitionsUntil(base.Add(time.Hour))); n != 3 {
		t.Errorf("transitionsUntil: %d transitions, want 3", n)
	}
}
