package diff_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/diff"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// An event's detail holds only what its payload does not say (model/detail.go),
// so folding the log must read the verbatim payload exactly as the source
// adapter read the response. These properties drive quirky response bodies —
// padded and Unicode-spaced text, numbers and booleans where strings belong,
// exponent numbers, NUL characters, every documented time shape and some
// undocumented ones, nulls and missing keys — through the real path: ParsePage,
// the diff, the store's canonical JSON (what the log holds), the fold.

// missing marks a key left out of the object.
type missingKey struct{}

var missing = missingKey{}

func pick(r *rand.Rand, vs ...any) any { return vs[r.IntN(len(vs))] }

// oddNumber is, now and then, a number the log stores in another form.
func oddNumber(r *rand.Rand) (any, bool) {
	if r.IntN(30) != 0 {
		return nil, false
	}
	return pick(r, json.Number("1e2"), json.Number("-0"), json.Number("-0.0"), json.Number("1e1")), true
}

func quirkyText(r *rand.Rand) any {
	if n, ok := oddNumber(r); ok {
		return n
	}
	return pick(r, "plain", "  padded\t", "\u00a0nbsp\u3000", "", nil, missing, "with\x00nul", "日本語",
		json.Number("42"), json.Number("1.50"), true)
}

func quirkyTime(r *rand.Rand) any {
	return pick(r, "2024-05-01T10:00:00Z", "2024-05-01T10:00Z", "2024-05-01 10:00:00", " 2024-05-01T10:00:00.123+08:00 ",
		"2024-05-01T10:00:00.5", "not a time", "", nil, missing, json.Number("1714557600"), "0000-01-01T00:00:00+01:00")
}

func quirkyBool(r *rand.Rand) any {
	return pick(r, true, false, "true", " false ", "1", json.Number("1"), json.Number("0.0"), nil, missing, "yes")
}

func quirkyInt(r *rand.Rand) any {
	if n, ok := oddNumber(r); ok {
		return n
	}
	return pick(r, json.Number("3"), "3", " 7 ", json.Number("3.0"), nil, missing, "x")
}

func put(m map[string]any, k string, v any) {
	if v != missing {
		m[k] = v
	}
}

func quirkyTags(r *rand.Rand) any {
	switch r.IntN(5) {
	case 0:
		return missing
	case 1:
		return nil
	case 2:
		return map[string]any{"Tag": []any{}}
	}
	var list []any
	for range 1 + r.IntN(3) {
		t := map[string]any{}
		put(t, "TagKey", quirkyText(r))
		put(t, "TagValue", quirkyText(r))
		list = append(list, t)
	}
	return map[string]any{"Tag": list}
}

// quirkyBody is a DescribeSendFileResults response with one invocation of
// the given instances.
func quirkyBody(r *rand.Rand, instances int) []byte {
	inv := map[string]any{"InvokeId": "f-quirk", "Content": quirkyText(r)}
	for _, k := range []string{"Name", "Description", "ContentType", "TargetDir", "FileOwner", "FileGroup", "FileMode"} {
		put(inv, k, quirkyText(r))
	}
	put(inv, "Overwrite", quirkyBool(r))
	put(inv, "VmCount", quirkyInt(r))
	put(inv, "CreationTime", quirkyTime(r))
	put(inv, "Tags", quirkyTags(r))
	var list []any
	for i := range instances {
		in := map[string]any{"InstanceId": fmt.Sprintf("i-%d", i)}
		put(in, "InvocationStatus", pick(r, "Pending", "Running", "Success", "Failed", " Success ", "Invalid", nil))
		for _, k := range []string{"CreationTime", "StartTime", "FinishTime", "UpdateTime"} {
			put(in, k, quirkyTime(r))
		}
		put(in, "ErrorCode", quirkyText(r))
		put(in, "ErrorInfo", quirkyText(r))
		list = append(list, in)
	}
	inv["InvokeInstances"] = map[string]any{"InvokeInstance": list}
	body, err := json.Marshal(map[string]any{"RequestId": "r", "Invocations": map[string]any{"Invocation": []any{inv}}})
	if err != nil {
		panic(err)
	}
	return body
}

// asLogged returns the events as the log holds them: detail and payload in
// the store's canonical form. With full, every discovery and change carries
// the full normalised detail events recorded before migration 9 carry.
func asLogged(t *testing.T, events []model.Event, obs model.Invocation, full bool) []model.Event {
	t.Helper()
	out := make([]model.Event, len(events))
	for i, e := range events {
		if full {
			e.Detail = fullDetail(t, e, obs)
		}
		var err error
		if e.Detail, err = store.JSONBText(e.Detail); err != nil {
			t.Fatal(err)
		}
		if e.Payload, err = store.JSONBText(e.Payload); err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out
}

func fullDetail(t *testing.T, e model.Event, obs model.Invocation) json.RawMessage {
	var d any
	switch e.Type {
	case model.EventInvocationDiscovered:
		d = model.InvocationDetail{Attributes: &obs.Attributes, Tags: nonNilTags(obs.Tags)}
	case model.EventInvocationAttributesChanged:
		d = model.InvocationDetail{Attributes: &obs.Attributes}
	case model.EventTagsChanged:
		d = model.InvocationDetail{Tags: nonNilTags(obs.Tags)}
	case model.EventInstanceDiscovered, model.EventInstanceDetailsChanged:
		for _, in := range obs.Instances {
			if in.InstanceID == e.InstanceID {
				d = model.DetailsOf(in)
			}
		}
	default:
		return e.Detail
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func nonNilTags(tags []model.Tag) []model.Tag {
	if tags == nil {
		return []model.Tag{}
	}
	return tags
}

// checkFolded compares the folded state with the observation it was folded to.
func checkFolded(t *testing.T, label string, k *model.KnownInvocation, obs model.Invocation) {
	t.Helper()
	if !k.Attributes.Equal(obs.Attributes) {
		t.Fatalf("%s: attributes folded %+v, observed %+v", label, k.Attributes, obs.Attributes)
	}
	if !model.TagsEqual(k.Tags, obs.Tags) {
		t.Fatalf("%s: tags folded %v, observed %v", label, k.Tags, obs.Tags)
	}
	for _, in := range obs.Instances {
		got := k.Instances[in.InstanceID]
		if got == nil || !got.Details.Equal(model.DetailsOf(in)) {
			t.Fatalf("%s: %s details folded %+v, observed %+v", label, in.InstanceID, got, model.DetailsOf(in))
		}
	}
}

// isCompact reports whether an event's detail holds at most the content hash.
func isCompact(e model.Event) bool {
	var m map[string]any
	if len(e.Detail) == 0 || string(e.Detail) == "null" {
		return true
	}
	if err := json.Unmarshal(e.Detail, &m); err != nil {
		return false
	}
	_, hash := m["content_sha256"]
	return len(m) == 1 && hash
}

func TestDetailAndPayloadFoldToTheObservation(t *testing.T) {
	clean := 0
	for seed := range uint64(3000) {
		r := rand.New(rand.NewPCG(seed, 9))
		instances := 1 + r.IntN(3)
		now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
		known := map[bool]*model.KnownInvocation{false: nil, true: nil}
		for step := range 3 {
			body := quirkyBody(r, instances)
			page, err := source.ParsePage(body)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			obs := page.Invocations[0]
			for _, full := range []bool{false, true} {
				label := fmt.Sprintf("seed %d step %d full %v", seed, step, full)
				logged := foldStep(t, label, known, full, obs, now)
				if full || storedDiffers(body) {
					continue
				}
				// Every value of this body reads back from the log as it was
				// sent: no discovery or change may repeat it in its detail.
				for _, e := range logged {
					if e.Type != model.EventInstanceStatusChanged && e.Type != model.EventReportedStatusChanged {
						clean++
						if !isCompact(e) {
							t.Fatalf("%s: %s %s detail %s repeats its payload %s", label, e.Type, e.InstanceID, e.Detail, e.Payload)
						}
					}
				}
			}
			now = now.Add(time.Minute)
		}
	}
	if clean < 1000 {
		t.Fatalf("only %d events from bodies the log stores verbatim: the generator is off", clean)
	}
}

// foldStep diffs obs against known[full], folds the logged events into it
// and checks the folded state is the observation.
func foldStep(t *testing.T, label string, known map[bool]*model.KnownInvocation, full bool, obs model.Invocation, now time.Time) []model.Event {
	t.Helper()
	k := known[full]
	evs, err := diff.Invocation(k, obs, now)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	if k == nil {
		k = model.NewKnownInvocation(obs.InvokeID)
	}
	logged := asLogged(t, evs, obs, full)
	if err := k.Apply(logged); err != nil {
		t.Fatalf("%s: fold: %v", label, err)
	}
	checkFolded(t, label, k, obs)
	known[full] = k
	return logged
}

// storedDiffers reports whether a body has numbers the log stores in
// another form (PostgreSQL's numeric prints 1e2 as 100 and -0 as 0).
func storedDiffers(body []byte) bool {
	for _, n := range []string{":1e2", ":1e1", ":-0"} {
		if bytes.Contains(body, []byte(n)) {
			return true
		}
	}
	return false
}
