package model

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
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

// storedObject is AsStored for an object.
func storedObject(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return AsStored(m).(map[string]any)
}
