package model

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// decodeNumbers decodes JSON as the fold does: numbers as json.Number.
func decodeNumbers(t *testing.T, raw []byte) (any, bool) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

// spoil puts into an object one value that does not survive encoding and
// decoding unchanged, chosen by k (0 spoils nothing).
func spoil(m map[string]any, k byte) {
	switch k % 6 {
	case 1:
		m["spoilt"] = "\xff\xfe not UTF-8"
	case 2:
		m["spoilt"] = 1.5 // decodes as json.Number
	case 3:
		m["spoilt"] = []any(nil) // encodes as null
	case 4:
		m["spoilt"] = json.Number("") // encodes as 0
	case 5:
		m["spoilt"] = map[string]any{"nested": []string{"typed"}} // decodes as []any
	}
}

// FuzzSetPayload checks the shortcut the diff takes: whenever an event keeps
// its payload object, decoding the payload gives exactly that object, which
// is the value as the log stores it (AsStored); every object decoded from
// JSON is kept unless a key holds NUL. It also checks isStored against
// AsStored. (store's TestPayloadTextFromKeptObject checks that the printed
// payload is the text the log stored before the shortcut.)
func FuzzSetPayload(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"InvocationStatus":"Success","Repeats":3,"ExitCode":-0}`,
		`{"a":[1,2.50,1e3,{"b":null,"c":true}],"d":"\u0000<tag>&\u2028"}`,
		`{"Tags":{"Tag":[{"TagKey":"k","TagValue":"v"}]},"x":"\ufffd"}`, `[1]`, `"s"`,
		`{"d":["a\u0000b"]}`, `{"a\u0000":1,"a\ufffd":2}`, `{"n":-0.0}`, `{"n":1E+2}`,
	} {
		for k := range byte(6) {
			f.Add([]byte(seed), k)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte, k byte) {
		v, ok := decodeNumbers(t, raw)
		if !ok {
			return
		}
		if stored := AsStored(v); isStored(v) != reflect.DeepEqual(stored, v) {
			t.Fatalf("isStored(%#v) = %v, but AsStored gives %#v", v, isStored(v), stored)
		}
		m, isObject := v.(map[string]any)
		nulKey := isObject && hasNULKey(m)
		stored := AsStored(v)
		if isObject {
			spoil(m, k)
		}
		var e Event
		if err := e.SetPayload(v); err != nil {
			return // a spoilt value the encoder refuses
		}
		if isObject && k%6 == 0 && !nulKey && e.object == nil {
			t.Fatalf("decoded object %s was not kept", raw)
		}
		if (!isObject || nulKey) && e.object != nil {
			t.Fatalf("kept %s as the payload object", raw)
		}
		if e.object == nil {
			return
		}
		back, ok := decodeNumbers(t, e.Payload)
		if !ok || !reflect.DeepEqual(back, any(e.object)) {
			t.Fatalf("kept %#v, but the payload %s decodes to %#v", e.object, e.Payload, back)
		}
		if k%6 == 0 && !reflect.DeepEqual(stored, any(e.object)) {
			t.Fatalf("kept %#v, but the log stores %#v", e.object, stored)
		}
	})
}

func hasNULKey(v any) bool {
	switch t := v.(type) {
	case []any:
		for _, x := range t {
			if hasNULKey(x) {
				return true
			}
		}
	case map[string]any:
		for k, x := range t {
			if strings.IndexByte(k, 0) >= 0 || hasNULKey(x) {
				return true
			}
		}
	}
	return false
}
