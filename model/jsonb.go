package model

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// AppendJSONB appends a decoded JSON value (numbers as json.Number) as
// PostgreSQL's jsonb prints it back (store.JSONBText, which the chain
// hashes): object keys in jsonb's order (shorter first, then bytewise),
// ", " and ": " between members, numbers as numeric prints them, strings
// escaped as escape_json does, and U+0000 (which jsonb refuses) as U+FFFD.
func AppendJSONB(buf []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case bool:
		if t {
			return append(buf, "true"...), nil
		}
		return append(buf, "false"...), nil
	case json.Number:
		n, err := CanonicalNumber(string(t))
		if err != nil {
			return nil, fmt.Errorf("jsonb text: %w", err)
		}
		return append(buf, n...), nil
	case string:
		return appendJSONBString(buf, t), nil
	case []any:
		buf = append(buf, '[')
		var err error
		for i, e := range t {
			if i > 0 {
				buf = append(buf, ", "...)
			}
			if buf, err = AppendJSONB(buf, e); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	case map[string]any:
		return appendJSONBObject(buf, t)
	}
	return nil, fmt.Errorf("jsonb text: unexpected %T", v)
}

func appendJSONBObject(buf []byte, m map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	values := m
	if slices.ContainsFunc(keys, func(k string) bool { return strings.IndexByte(k, 0) >= 0 }) {
		keys, values = storedKeys(keys, m)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	buf = append(buf, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ", "...)
		}
		buf = appendJSONBString(buf, k)
		buf = append(buf, ": "...)
		if buf, err = AppendJSONB(buf, values[k]); err != nil {
			return nil, err
		}
	}
	return append(buf, '}'), nil
}

// storedKeys returns m's keys as stored (NUL replaced) and the value under
// each. Two keys that differ only there collide; the later in plain order
// wins, as it did when the archive sent PostgreSQL its canonical text
// (sorted keys) to parse.
func storedKeys(original []string, m map[string]any) ([]string, map[string]any) {
	sort.Strings(original)
	keys := make([]string, 0, len(m))
	values := make(map[string]any, len(m))
	for _, k := range original {
		sk := StoredString(k)
		if _, dup := values[sk]; !dup {
			keys = append(keys, sk)
		}
		values[sk] = m[k]
	}
	return keys, values
}

// appendJSONBString quotes s as PostgreSQL's escape_json does: the two-
// character escapes for \b \f \n \r \t " and \, \u00XX for the other
// control characters, everything else (non-ASCII included) as it is.
func appendJSONBString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == 0 {
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
			i += size
			continue
		}
		i++
		if c == 0 {
			buf = append(buf, "\uFFFD"...)
			continue
		}
		buf = AppendJSONBASCII(buf, c)
	}
	return append(buf, '"')
}

// AppendJSONBASCII appends one ASCII byte other than NUL as escape_json
// prints it.
func AppendJSONBASCII(buf []byte, c byte) []byte {
	const hex = "0123456789abcdef"
	switch c {
	case '\b':
		return append(buf, `\b`...)
	case '\f':
		return append(buf, `\f`...)
	case '\n':
		return append(buf, `\n`...)
	case '\r':
		return append(buf, `\r`...)
	case '\t':
		return append(buf, `\t`...)
	case '"':
		return append(buf, `\"`...)
	case '\\':
		return append(buf, `\\`...)
	}
	if c < ' ' {
		return append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
	}
	return append(buf, c)
}
