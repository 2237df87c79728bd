package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// This file holds the JSONL format and the reflection plan that the JSONL
// and CSV formats share: both are text formats driven by the same list of
// columns, so they must agree on names, order and value spellings.

// timeLayout is how JSONL and CSV spell a time: RFC 3339, UTC, exactly six
// fractional digits. A fixed width keeps the files byte-stable and lets
// verifiers compare times as strings.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// jsonlBufferSize is the JSONL writer's buffer: large enough that a write
// to the file (or pipe) happens once per several hundred rows.
const jsonlBufferSize = 256 << 10

// fieldKind is one of the Go field types a row may have.
type fieldKind uint8

// The supported field kinds.
const (
	kindString fieldKind = iota
	kindStringPtr
	kindInt64
	kindInt64Ptr
	kindBool
	kindBoolPtr
	kindTime
	kindTimePtr
)

// planColumn is one column of a row type: where its field is and how to
// spell it.
type planColumn struct {
	name  string    // the parquet tag's first value
	index int       // struct field index
	kind  fieldKind // Go type of the field
	// jsonKey is the bytes before the value in a JSONL line: `{"name":` for
	// the first column and `,"name":` for the others, so one append does it.
	jsonKey []byte
}

// rowPlan is the column list of one row type, computed once by reflection.
type rowPlan struct {
	columns []planColumn
	byName  map[string]int // column name → position in columns
}

// plans caches a *rowPlan per reflect.Type, so reflection over struct tags
// happens once per type, not per row or per file.
var plans sync.Map

// planOf returns the (cached) plan of row type T.
func planOf[T Row]() *rowPlan {
	t := reflect.TypeFor[T]()
	if p, ok := plans.Load(t); ok {
		return p.(*rowPlan)
	}
	p, _ := plans.LoadOrStore(t, buildPlan(t))
	return p.(*rowPlan)
}

// kindOf maps a field type to its kind. An unsupported type is a
// programming error in rows.go, so it panics (tests catch it).
func kindOf(t reflect.Type) fieldKind {
	timeType := reflect.TypeFor[time.Time]()
	switch {
	case t == timeType:
		return kindTime
	case t.Kind() == reflect.Pointer && t.Elem() == timeType:
		return kindTimePtr
	case t.Kind() == reflect.String:
		return kindString
	case t.Kind() == reflect.Int64:
		return kindInt64
	case t.Kind() == reflect.Bool:
		return kindBool
	case t.Kind() == reflect.Pointer:
		switch t.Elem().Kind() {
		case reflect.String:
			return kindStringPtr
		case reflect.Int64:
			return kindInt64Ptr
		case reflect.Bool:
			return kindBoolPtr
		}
	}
	panic(fmt.Sprintf("audit: unsupported row field type %s", t))
}

// buildPlan reflects over the struct type t.
func buildPlan(t reflect.Type) *rowPlan {
	p := &rowPlan{byName: make(map[string]int, t.NumField())}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := cutComma(f.Tag.Get("parquet"))
		if name == "" || name == "-" {
			panic(fmt.Sprintf("audit: field %s.%s has no parquet column name", t.Name(), f.Name))
		}
		sep := byte(',')
		if len(p.columns) == 0 {
			sep = '{'
		}
		key := appendJSONString([]byte{sep}, name)
		p.byName[name] = len(p.columns)
		p.columns = append(p.columns, planColumn{
			name: name, index: i, kind: kindOf(f.Type), jsonKey: append(key, ':'),
		})
	}
	return p
}

// cutComma splits a tag at its first comma.
func cutComma(s string) (before, after string, found bool) {
	for i := range len(s) {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// names lists the column names in order.
func (p *rowPlan) names() []string {
	out := make([]string, len(p.columns))
	for i, c := range p.columns {
		out[i] = c.name
	}
	return out
}

// appendTextTime appends t in UTC spelled with timeLayout. It is a
// hand-written time.AppendFormat (several times faster, and times are two
// of an event's columns); RFC 3339 has four-digit years, so a time outside
// years 0000-9999 is an error rather than a line no reader accepts.
func appendTextTime(dst []byte, t time.Time) ([]byte, error) {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return dst, fmt.Errorf("time %s is outside years 0000-9999", t.Format(time.RFC3339Nano))
	}
	hour, minute, sec := t.Clock()
	dst = appendDigits(dst, year, 4)
	dst = appendDigits(append(dst, '-'), int(month), 2)
	dst = appendDigits(append(dst, '-'), day, 2)
	dst = appendDigits(append(dst, 'T'), hour, 2)
	dst = appendDigits(append(dst, ':'), minute, 2)
	dst = appendDigits(append(dst, ':'), sec, 2)
	dst = appendDigits(append(dst, '.'), t.Nanosecond()/1000, 6)
	return append(dst, 'Z'), nil
}

// appendDigits appends the non-negative n as exactly width decimal digits.
func appendDigits(dst []byte, n, width int) []byte {
	dst = append(dst, "000000"[:width]...)
	for i := len(dst) - 1; n > 0; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
	return dst
}

// parseTextTime reads a time spelled with timeLayout, strictly: time.Parse
// wants exactly six fractional digits and the literal Z here, and returns
// a UTC time.
func parseTextTime(s string) (time.Time, error) {
	return time.Parse(timeLayout, s)
}

// jsonlWriter writes one JSON object per line.
type jsonlWriter[T Row] struct {
	plan *rowPlan
	bw   *bufio.Writer
	rows int   // rows written, for error messages
	err  error // sticky: after a failed write the file is unusable
}

// newJSONLWriter returns a JSONL writer onto w.
func newJSONLWriter[T Row](w io.Writer) RowWriter[T] {
	return &jsonlWriter[T]{plan: planOf[T](), bw: bufio.NewWriterSize(w, jsonlBufferSize)}
}

// Write appends one line. It builds the line straight in the bufio.Writer's
// free space (AvailableBuffer), so a row costs no allocation and no copy
// unless the line does not fit.
func (w *jsonlWriter[T]) Write(row *T) error {
	if w.err != nil {
		return w.err
	}
	if row == nil {
		return errors.New("jsonl: nil row")
	}
	w.rows++
	line, err := w.plan.appendJSON(w.bw.AvailableBuffer(), reflect.ValueOf(row).Elem())
	if err != nil {
		// Nothing reached the buffer, so the file is still consistent.
		return fmt.Errorf("jsonl row %d: %w", w.rows, err)
	}
	if _, err := w.bw.Write(append(line, '\n')); err != nil {
		w.err = fmt.Errorf("jsonl: %w", err)
		return w.err
	}
	return nil
}

// Close flushes the buffer; the underlying writer stays open.
func (w *jsonlWriter[T]) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("jsonl: %w", err)
		return w.err
	}
	w.err = errors.New("jsonl: writer is closed")
	return nil
}

// appendJSON appends the row v as one JSON object (no newline).
func (p *rowPlan) appendJSON(dst []byte, v reflect.Value) ([]byte, error) {
	for i := range p.columns {
		c := &p.columns[i]
		dst = append(dst, c.jsonKey...)
		f := v.Field(c.index)
		switch c.kind {
		case kindString:
			dst = appendJSONString(dst, f.String())
		case kindInt64:
			dst = strconv.AppendInt(dst, f.Int(), 10)
		case kindBool:
			dst = strconv.AppendBool(dst, f.Bool())
		case kindTime:
			var err error
			dst, err = appendTextTime(append(dst, '"'), *f.Addr().Interface().(*time.Time))
			if err != nil {
				return dst, fmt.Errorf("column %s: %w", c.name, err)
			}
			dst = append(dst, '"')
		default:
			if f.IsNil() {
				dst = append(dst, "null"...)
				continue
			}
			var err error
			if dst, err = appendJSONPointee(dst, c.kind, f.Elem()); err != nil {
				return dst, fmt.Errorf("column %s: %w", c.name, err)
			}
		}
	}
	return append(dst, '}'), nil
}

// appendJSONPointee appends the value a non-nil pointer field points to.
func appendJSONPointee(dst []byte, kind fieldKind, e reflect.Value) ([]byte, error) {
	switch kind {
	case kindStringPtr:
		return appendJSONString(dst, e.String()), nil
	case kindInt64Ptr:
		return strconv.AppendInt(dst, e.Int(), 10), nil
	case kindBoolPtr:
		return strconv.AppendBool(dst, e.Bool()), nil
	case kindTimePtr:
		dst, err := appendTextTime(append(dst, '"'), *e.Addr().Interface().(*time.Time))
		return append(dst, '"'), err
	}
	panic("audit: unreachable field kind")
}

// jsonSafe marks the ASCII bytes a JSON string holds as they are: one
// table load per byte instead of three comparisons, on the hottest loop.
var jsonSafe = func() (safe [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		safe[b] = b != '"' && b != '\\'
	}
	return safe
}()

// hexDigits spells \u escapes.
const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json does
// with SetEscapeHTML(false): <, > and & stay literal; ", \ and control
// characters are escaped (\b \f \n \r \t or \u00XX); U+2028 and U+2029 are
// escaped so the text is also valid JavaScript; each invalid UTF-8 byte
// becomes \ufffd so the output is always valid UTF-8 and valid JSON.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(append(dst, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(append(dst, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(dst, s[start:]...), '"')
}

// readJSONL streams the rows of a JSONL file to fn. Every line must be one
// JSON object with exactly T's columns (in any order), each of the right
// type, and must end with "\n": a missing final newline means a truncated
// file. Rows are numbered from 1 (the line number). Each *T passed to fn is
// a fresh value that fn may keep.
func readJSONL[T Row](path string, fn func(*T) error) error {
	base := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", base, err)
	}
	defer f.Close()
	plan := planOf[T]()
	br := bufio.NewReaderSize(f, jsonlBufferSize)
	var line []byte
	for n := 1; ; n++ {
		line, err = readLine(br, line[:0])
		if err == io.EOF && len(line) == 0 {
			return nil
		}
		if err == io.EOF {
			return fmt.Errorf("read %s row %d: last line has no newline (truncated file?)", base, n)
		}
		if err != nil {
			return fmt.Errorf("read %s row %d: %w", base, n, err)
		}
		row := new(T)
		if err := plan.decodeJSON(line, reflect.ValueOf(row).Elem()); err != nil {
			return fmt.Errorf("read %s row %d: %w", base, n, err)
		}
		if err := fn(row); err != nil {
			return fmt.Errorf("read %s row %d: %w", base, n, err)
		}
	}
}

// readLine appends the next line to buf without its "\n". It returns io.EOF
// at the end of the input; buf is then non-empty if the last line had no
// newline. Lines may be longer than br's buffer (large payloads).
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		switch err {
		case nil:
			return buf[:len(buf)-1], nil
		case bufio.ErrBufferFull:
			continue
		default:
			return buf, err
		}
	}
}

// decodeJSON decodes one line into v (a zero T), strictly.
func (p *rowPlan) decodeJSON(line []byte, v reflect.Value) error {
	if !utf8.Valid(line) {
		return errors.New("line is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("line is not a JSON object")
	}
	seen := make([]bool, len(p.columns))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("bad JSON: %w", err)
		}
		key, _ := tok.(string)
		i, ok := p.byName[key]
		if !ok {
			return fmt.Errorf("unknown column %q", key)
		}
		if seen[i] {
			return fmt.Errorf("column %s: appears twice", key)
		}
		seen[i] = true
		if err := p.columns[i].decodeJSONValue(dec, v.Field(p.columns[i].index)); err != nil {
			return fmt.Errorf("column %s: %w", key, err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return fmt.Errorf("bad JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	for i, ok := range seen {
		if !ok {
			return fmt.Errorf("column %s: missing", p.columns[i].name)
		}
	}
	return nil
}

// decodeJSONValue reads the next JSON value into the field f.
func (c *planColumn) decodeJSONValue(dec *json.Decoder, f reflect.Value) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("bad JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); ok {
		return fmt.Errorf("got JSON %q, want a scalar", d)
	}
	if tok == nil {
		if c.kind == kindString || c.kind == kindInt64 || c.kind == kindBool || c.kind == kindTime {
			return errors.New("null in a non-nullable column")
		}
		return nil // f stays a nil pointer
	}
	var val reflect.Value
	switch c.kind {
	case kindString, kindStringPtr:
		s, ok := tok.(string)
		if !ok {
			return fmt.Errorf("got %s, want a string", jsonTypeName(tok))
		}
		val = reflect.ValueOf(s)
	case kindInt64, kindInt64Ptr:
		num, ok := tok.(json.Number)
		if !ok {
			return fmt.Errorf("got %s, want an integer", jsonTypeName(tok))
		}
		n, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil {
			return fmt.Errorf("want an int64: %w", err)
		}
		val = reflect.ValueOf(n)
	case kindBool, kindBoolPtr:
		b, ok := tok.(bool)
		if !ok {
			return fmt.Errorf("got %s, want true or false", jsonTypeName(tok))
		}
		val = reflect.ValueOf(b)
	case kindTime, kindTimePtr:
		s, ok := tok.(string)
		if !ok {
			return fmt.Errorf("got %s, want a time string", jsonTypeName(tok))
		}
		t, err := parseTextTime(s)
		if err != nil {
			return err
		}
		val = reflect.ValueOf(t)
	}
	setField(f, val)
	return nil
}

// jsonTypeName names the JSON type of a scalar token, for error messages.
func jsonTypeName(tok json.Token) string {
	switch tok.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a bool"
	}
	return "null"
}

// setField stores val in f, through a new pointer if f is a pointer field.
func setField(f, val reflect.Value) {
	if f.Kind() == reflect.Pointer {
		p := reflect.New(f.Type().Elem())
		p.Elem().Set(val)
		f.Set(p)
		return
	}
	f.Set(val)
}
