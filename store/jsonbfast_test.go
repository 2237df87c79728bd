package store

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cloudassistant/sendfile-archive/model"
)

// The fast path must print exactly what the general path prints, or
// decline: for every document it accepts, the general path accepts it too
// and gives the same bytes. Documents are written as raw text, so they
// carry what encoding/json never writes (whitespace anywhere, every
// escape, duplicate keys, invalid UTF-8, odd and malformed numbers,
// truncation, trailing bytes).
func TestFastJSONBMatchesGeneral(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 3))
	accepted := 0
	const n = 20000
	for i := range n {
		doc := []byte(rawJSON(rng, 3))
		switch rng.IntN(10) {
		case 0: // truncated
			doc = doc[:rng.IntN(len(doc)+1)]
		case 1: // a stray byte
			at := rng.IntN(len(doc) + 1)
			doc = append(doc[:at:at], append([]byte{"x,:}]\"\\\x80 "[rng.IntN(9)]}, doc[at:]...)...)
		}
		if compareFast(t, doc) {
			accepted++
		}
		if i == n-1 && accepted < n/4 {
			t.Fatalf("the fast path accepted only %d of %d documents", accepted, n)
		}
	}
	// What the archive writes most: encoding/json's own output.
	for _, v := range []any{
		map[string]any{"InstanceId": "i-bp1", "InvocationStatus": "Success", "ErrorCode": "", "Dropped": 0,
			"StartTime": "2026-01-02T03:04:05Z", "Repeats": 2, "Nested": []any{1.5, "x", nil, true}},
		map[string]any{"TargetDir": "/home/user/dir with \"quotes\"\tand\\tabs", "FileMode": "0644", "Size": 1e21},
	} {
		b, _ := json.Marshal(v)
		if !compareFast(t, b) {
			t.Fatalf("the fast path declined encoding/json's %s", b)
		}
	}
}

// compareFast reports whether the fast path accepted doc, failing the test
// if what it printed differs from the general path.
func compareFast(t *testing.T, doc []byte) bool {
	t.Helper()
	fast, ok := fastJSONB(doc)
	if !ok {
		return false
	}
	general, err := generalJSONB(doc)
	if err != nil {
		t.Fatalf("%q: the fast path printed %s, the general path refused: %v", doc, fast, err)
	}
	if string(fast) != string(general) {
		t.Fatalf("%q:\n fast    %s\n general %s", doc, fast, general)
	}
	return true
}

func FuzzFastJSONB(f *testing.F) {
	for _, s := range []string{`{"b": 1, "a": [1, 2.50, -0, 1e2]}`, `"x\n\u00e9"`, `{"a":1,"a":2}`, `[01]`, `-`, "\"\x80\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { compareFast(t, doc) })
}

// rawJSON writes a random document as text.
func rawJSON(rng *rand.Rand, depth int) string {
	ws := func() string { return []string{"", "", " ", "\n\t ", "\r"}[rng.IntN(5)] }
	kind := rng.IntN(7)
	if depth == 0 {
		kind = rng.IntN(4)
	}
	switch kind {
	case 0, 3:
		return rawString(rng)
	case 1:
		return rawNumber(rng)
	case 2:
		return []string{"null", "true", "false", "nul", "tru"}[rng.IntN(5)]
	case 4, 5:
		var members []string
		for range rng.IntN(6) {
			key := rawString(rng)
			if rng.IntN(8) == 0 && len(members) > 0 { // a duplicate key
				key = strings.SplitN(strings.TrimSpace(members[0]), ":", 2)[0]
			}
			members = append(members, ws()+key+ws()+":"+ws()+rawJSON(rng, depth-1)+ws())
		}
		return "{" + strings.Join(members, ",") + ws() + "}"
	}
	items := make([]string, rng.IntN(4))
	for i := range items {
		items[i] = ws() + rawJSON(rng, depth-1) + ws()
	}
	return "[" + strings.Join(items, ",") + "]"
}

func rawString(rng *rand.Rand) string {
	parts := []string{"a", "b", "Z", "0", " ", `\"`, `\\`, `\/`, `\n`, `\t`, `\r`, `\b`, `\f`, `\u0000`, `\u00e9`,
		`\ud83d\ude00`, `\ud800`, "é", "中", "😀", "\x80", "\xff", "\x01", "<", "&", "InstanceId", "ErrorCode", `\x`}
	var sb strings.Builder
	sb.WriteByte('"')
	for range rng.IntN(8) {
		sb.WriteString(parts[rng.IntN(len(parts))])
	}
	sb.WriteByte('"')
	return sb.String()
}

func rawNumber(rng *rand.Rand) string {
	parts := []string{"-", "0", "1", "9", "00", "12", ".", ".5", "e", "E", "+", "-", "3", "e-2", "E+10"}
	var sb strings.Builder
	for range 1 + rng.IntN(5) {
		sb.WriteString(parts[rng.IntN(len(parts))])
	}
	return sb.String()
}

// An event that keeps its decoded payload (model.Event.SetPayload) is given
// it already printed: that text must be what the log stored before the
// shortcut, JSONBText of encoding/json's encoding, and printing it again
// must not change it. The objects are decoded from random documents (every
// escape, invalid UTF-8, duplicate keys, NUL in keys and strings, numbers
// written every way), as the source's parser would decode them.
func TestPayloadTextFromKeptObject(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(12, 5))
	decoded, kept := 0, 0
	for range 20000 {
		doc := "{" + `"k":` + rawJSON(rng, 3) + `,` + rawString(rng) + `:` + rawJSON(rng, 2) + "}"
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		var obj map[string]any
		if dec.Decode(&obj) != nil {
			continue
		}
		decoded++
		marshalled, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		want, err := JSONBText(marshalled)
		if err != nil {
			t.Fatalf("%s: %v", marshalled, err)
		}
		var e model.Event
		if err := e.SetPayload(obj); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		got, err := payloadText(&e)
		if err != nil || string(got) != string(want) {
			t.Fatalf("%s: printed %s (%v), the log stored %s", doc, got, err, want)
		}
		if again, err := JSONBText(got); err != nil || string(again) != string(got) {
			t.Fatalf("%s printed again is %s (%v)", got, again, err)
		}
		if e.PayloadObject() != nil {
			kept++
		}
	}
	if decoded < 2000 || kept < decoded*3/4 {
		t.Fatalf("%d of %d decoded objects were kept", kept, decoded)
	}
}
