package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/cloudassistant/sendfile-archive/model"
)

// JSONBText renders a JSON document exactly as PostgreSQL prints it back
// from a jsonb column (jsonb's text output), which is what the chain hashes:
// object keys in jsonb's order (shorter first, then bytewise) without
// duplicates (the last wins), ", " and ": " between members, numbers as
// numeric prints them, strings escaped as escape_json does, and U+0000
// (which jsonb refuses) as U+FFFD. Rendering it here saves asking
// PostgreSQL for the form page by page; TestJSONBTextMatchesPostgreSQL holds
// the two equal.
func JSONBText(raw []byte) ([]byte, error) {
	if raw == nil {
		return nil, nil
	}
	if out, ok := fastJSONB(raw); ok {
		return out, nil
	}
	return generalJSONB(raw)
}

// generalJSONB is JSONBText for any document: decoded with encoding/json,
// as PostgreSQL would parse it, then printed.
func generalJSONB(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("jsonb text: %w", err)
	}
	buf := make([]byte, 0, len(raw)+len(raw)/8)
	return appendJSONB(buf, v)
}

func appendJSONB(buf []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case bool:
		if t {
			return append(buf, "true"...), nil
		}
		return append(buf, "false"...), nil
	case json.Number:
		n, err := model.CanonicalNumber(string(t))
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
			if buf, err = appendJSONB(buf, e); err != nil {
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
	// Keys are compared as stored, NUL replaced. Two keys that differ only
	// there collide; the later in plain order wins, as it did when the
	// archive sent PostgreSQL its canonical text (sorted keys) to parse.
	original := make([]string, 0, len(m))
	for k := range m {
		original = append(original, k)
	}
	sort.Strings(original)
	keys := make([]string, 0, len(m))
	values := make(map[string]any, len(m))
	for _, k := range original {
		sk := model.StoredString(k)
		if _, dup := values[sk]; !dup {
			keys = append(keys, sk)
		}
		values[sk] = m[k]
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) < len(keys[j])
		}
		return keys[i] < keys[j]
	})
	buf = append(buf, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ", "...)
		}
		buf = appendJSONBString(buf, k)
		buf = append(buf, ": "...)
		if buf, err = appendJSONB(buf, values[k]); err != nil {
			return nil, err
		}
	}
	return append(buf, '}'), nil
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
		buf = appendJSONBASCII(buf, c)
	}
	return append(buf, '"')
}

// appendJSONBASCII appends one ASCII byte other than NUL as escape_json
// prints it.
func appendJSONBASCII(buf []byte, c byte) []byte {
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
