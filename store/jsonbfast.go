package store

import (
	"bytes"
	"slices"
	"unicode/utf8"

	"github.com/cloudassistant/sendfile-archive/model"
)

// fastJSONB renders the documents the archive itself writes (valid JSON
// from encoding/json: UTF-8, simple escapes, no duplicate keys) in jsonb's
// text form without decoding them into maps, which was a fifth of an
// ingest's CPU. It scans the document once and sorts each object's members
// as rendered. Anything outside that plain subset (a \u escape, invalid
// UTF-8, a duplicate key, malformed input, deep nesting) is declined (ok
// false) and JSONBText takes the general path, so the output never
// differs from it: TestFastJSONBMatchesGeneral compares the two.
func fastJSONB(raw []byte) (out []byte, ok bool) {
	sc := jsonbScanner{s: raw}
	if out, ok = sc.value(make([]byte, 0, len(raw)+len(raw)/8), 0); !ok {
		return nil, false
	}
	sc.skipSpace()
	return out, sc.i == len(raw) // anything after the document: the general path decides
}

// jsonbScanner reads one JSON document from s.
type jsonbScanner struct {
	s []byte
	i int
}

// maxFastDepth bounds the nesting the fast path follows.
const maxFastDepth = 64

func (sc *jsonbScanner) skipSpace() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// value appends the rendering of the next value to dst.
func (sc *jsonbScanner) value(dst []byte, depth int) ([]byte, bool) {
	sc.skipSpace()
	if sc.i >= len(sc.s) || depth > maxFastDepth {
		return nil, false
	}
	switch c := sc.s[sc.i]; {
	case c == '{':
		return sc.object(dst, depth)
	case c == '[':
		return sc.array(dst, depth)
	case c == '"':
		str, ok := sc.str()
		if !ok {
			return nil, false
		}
		return appendJSONBBytes(dst, str), true
	case c == '-' || (c >= '0' && c <= '9'):
		return sc.number(dst)
	}
	for _, lit := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(sc.s[sc.i:], []byte(lit)) {
			sc.i += len(lit)
			return append(dst, lit...), true
		}
	}
	return nil, false
}

func (sc *jsonbScanner) array(dst []byte, depth int) ([]byte, bool) {
	sc.i++ // [
	dst = append(dst, '[')
	sc.skipSpace()
	if sc.i < len(sc.s) && sc.s[sc.i] == ']' {
		sc.i++
		return append(dst, ']'), true
	}
	for n := 0; ; n++ {
		if n > 0 {
			dst = append(dst, ", "...)
		}
		var ok bool
		if dst, ok = sc.value(dst, depth+1); !ok {
			return nil, false
		}
		sc.skipSpace()
		if sc.i >= len(sc.s) {
			return nil, false
		}
		switch sc.s[sc.i] {
		case ',':
			sc.i++
		case ']':
			sc.i++
			return append(dst, ']'), true
		default:
			return nil, false
		}
	}
}

// member is one rendered object member: its key (unescaped) and the
// rendering of its value in the object's scratch buffer.
type member struct {
	key        []byte
	start, end int
}

func (sc *jsonbScanner) object(dst []byte, depth int) ([]byte, bool) {
	sc.i++ // {
	var members []member
	var scratch []byte
	sc.skipSpace()
	if sc.i < len(sc.s) && sc.s[sc.i] == '}' {
		sc.i++
		return append(dst, "{}"...), true
	}
	for {
		sc.skipSpace()
		if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
			return nil, false
		}
		key, ok := sc.str()
		if !ok {
			return nil, false
		}
		sc.skipSpace()
		if sc.i >= len(sc.s) || sc.s[sc.i] != ':' {
			return nil, false
		}
		sc.i++
		start := len(scratch)
		if scratch, ok = sc.value(scratch, depth+1); !ok {
			return nil, false
		}
		members = append(members, member{key: key, start: start, end: len(scratch)})
		sc.skipSpace()
		if sc.i >= len(sc.s) {
			return nil, false
		}
		if sc.s[sc.i] == '}' {
			sc.i++
			break
		}
		if sc.s[sc.i] != ',' {
			return nil, false
		}
		sc.i++
	}
	// jsonb's order: shorter keys first, then bytewise.
	slices.SortFunc(members, func(a, b member) int {
		if len(a.key) != len(b.key) {
			return len(a.key) - len(b.key)
		}
		return bytes.Compare(a.key, b.key)
	})
	dst = append(dst, '{')
	for i, m := range members {
		if i > 0 {
			if bytes.Equal(m.key, members[i-1].key) {
				return nil, false // a duplicate key: the general path decides
			}
			dst = append(dst, ", "...)
		}
		dst = appendJSONBBytes(dst, m.key)
		dst = append(dst, ": "...)
		dst = append(dst, scratch[m.start:m.end]...)
	}
	return append(dst, '}'), true
}

// str reads a string and returns its unescaped bytes: valid UTF-8, no
// control characters, and only the two-character escapes.
func (sc *jsonbScanner) str() ([]byte, bool) {
	sc.i++ // "
	start := sc.i
	var unescaped []byte // nil until the first escape
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		switch {
		case c == '"':
			raw := sc.s[start:sc.i]
			sc.i++
			if unescaped != nil {
				raw = append(unescaped, raw...)
			}
			return raw, utf8.Valid(raw)
		case c < ' ':
			return nil, false
		case c == '\\':
			if sc.i+1 >= len(sc.s) {
				return nil, false
			}
			e, ok := simpleEscapes[sc.s[sc.i+1]]
			if !ok {
				return nil, false // \u and anything unknown
			}
			unescaped = append(append(unescaped, sc.s[start:sc.i]...), e)
			sc.i += 2
			start = sc.i
		default:
			sc.i++
		}
	}
	return nil, false
}

var simpleEscapes = map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// number appends a number as numeric prints it: an integer without leading
// zeros as written, anything else through model.CanonicalNumber.
func (sc *jsonbScanner) number(dst []byte) ([]byte, bool) {
	start := sc.i
	if sc.s[sc.i] == '-' {
		sc.i++
	}
	intStart := sc.i
	digits := sc.digits()
	if digits == 0 || (digits > 1 && sc.s[intStart] == '0') {
		return nil, false
	}
	plain := !(digits == 1 && sc.s[intStart] == '0' && sc.s[start] == '-') // -0 prints as 0
	if sc.i < len(sc.s) && sc.s[sc.i] == '.' {
		sc.i++
		if sc.digits() == 0 {
			return nil, false
		}
		plain = false
	}
	if sc.i < len(sc.s) && (sc.s[sc.i] == 'e' || sc.s[sc.i] == 'E') {
		sc.i++
		if sc.i < len(sc.s) && (sc.s[sc.i] == '+' || sc.s[sc.i] == '-') {
			sc.i++
		}
		if sc.digits() == 0 {
			return nil, false
		}
		plain = false
	}
	lit := sc.s[start:sc.i]
	if plain {
		return append(dst, lit...), true
	}
	n, err := model.CanonicalNumber(string(lit))
	if err != nil {
		return nil, false
	}
	return append(dst, n...), true
}

func (sc *jsonbScanner) digits() int {
	n := 0
	for sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
		sc.i++
		n++
	}
	return n
}

// appendJSONBBytes quotes valid UTF-8 without NUL as model.AppendJSONB does.
func appendJSONBBytes(buf []byte, s []byte) []byte {
	buf = append(buf, '"')
	for _, c := range s {
		if c >= utf8.RuneSelf {
			buf = append(buf, c) // valid UTF-8: copied as it is
			continue
		}
		buf = model.AppendJSONBASCII(buf, c)
	}
	return append(buf, '"')
}
