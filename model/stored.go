package model

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"
)

// How the log stores JSON. An event's payload is kept in the canonical form
// that is hashed (store.JSONBText), which is also how PostgreSQL's jsonb
// prints it back: numbers as numeric prints them, and no NUL characters
// (jsonb cannot hold U+0000). Reading a value back from the payload therefore
// reads it in that form, and whoever decides that a payload says enough on
// its own (InstanceDetail, InvocationEventDetail) must judge it in that form
// too (AsStored).

// CanonicalNumber renders a JSON number the way PostgreSQL's numeric type
// prints it back: plain decimal notation, the scale the input implied
// (max(0, fraction digits - exponent)), and no negative zero.
func CanonicalNumber(s string) (string, error) {
	if !strings.ContainsAny(s, ".eE") {
		if strings.TrimLeft(s, "-0") == "" {
			return "0", nil
		}
		return s, nil
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		if _, err := fmt.Sscan(s[i+1:], &exp); err != nil {
			return "", fmt.Errorf("bad JSON number %q", s)
		}
	}
	frac := 0
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		frac = len(mant) - i - 1
	}
	scale := frac - exp
	if scale < 0 {
		scale = 0
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return "", fmt.Errorf("bad JSON number %q", s)
	}
	out := r.FloatString(scale)
	if r.Sign() == 0 {
		out = strings.TrimPrefix(out, "-")
	}
	return out, nil
}

// StoredString is a JSON string as the log stores it: U+0000, which jsonb
// refuses, becomes U+FFFD.
func StoredString(s string) string { return strings.ReplaceAll(s, "\x00", "\uFFFD") }

// AsStored returns a decoded JSON value (numbers as json.Number) as it reads
// back from the log: numbers canonical, strings as StoredString. The value
// given is not modified. A number that is not valid JSON is kept as is (the
// store refuses it later).
func AsStored(v any) any {
	switch t := v.(type) {
	case string:
		return StoredString(t)
	case json.Number:
		if n, err := CanonicalNumber(string(t)); err == nil {
			return json.Number(n)
		}
		return t
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = AsStored(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[StoredString(k)] = AsStored(x)
		}
		return out
	}
	return v
}

// storedObject is AsStored for an object. An object already in that form is
// returned as it is, not copied: callers only read it.
func storedObject(m map[string]any) map[string]any {
	if m == nil || isStored(m) {
		return m
	}
	return AsStored(m).(map[string]any)
}

// isStored reports whether AsStored(v) would return a value equal to v.
func isStored(v any) bool {
	switch t := v.(type) {
	case string:
		return !strings.Contains(t, "\x00")
	case json.Number:
		n, err := CanonicalNumber(string(t))
		return err != nil || n == string(t)
	case []any:
		for _, x := range t {
			if !isStored(x) {
				return false
			}
		}
	case map[string]any:
		for k, x := range t {
			if strings.Contains(k, "\x00") || !isStored(x) {
				return false
			}
		}
	}
	return true
}

// decodesBack reports whether decoding v's JSON encoding (with UseNumber)
// gives a value equal to v: it is made only of what that decoding produces,
// its strings are valid UTF-8 (the encoder replaces invalid bytes), and it
// has no nil slice or map (those encode as null). It also refuses keys with
// NUL: two keys that differ only there collide when stored, and AsStored
// would not pick the winner deterministically.
func decodesBack(v any) bool {
	switch t := v.(type) {
	case nil, bool:
		return true
	case string:
		return utf8.ValidString(t)
	case json.Number:
		return t != "" // the encoder writes "" as 0 and refuses other bad numbers
	case []any:
		if t == nil {
			return false
		}
		for _, x := range t {
			if !decodesBack(x) {
				return false
			}
		}
		return true
	case map[string]any:
		if t == nil {
			return false
		}
		for k, x := range t {
			if !utf8.ValidString(k) || strings.IndexByte(k, 0) >= 0 || !decodesBack(x) {
				return false
			}
		}
		return true
	}
	return false
}
