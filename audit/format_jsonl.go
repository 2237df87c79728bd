package audit

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"
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

// The supported field kinds. Each pointer kind directly follows its value
// kind: fieldKind.base relies on it.
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
	// quoted is `"name"`, the key as the writer spells it, which the reader
	// compares bytes with before it decodes a key.
	quoted []byte
}

// rowPlan is the column list of one row type, computed once by reflection.
type rowPlan struct {
	columns []planColumn
	byName  map[string]int // column name → position in columns
	// first is how many columns every file of the type has: the columns
	// after them were added to the format later (tag layout:"added"), and
	// a file written before may lack all of them (they read as null), so
	// exports made by earlier versions still read and verify.
	first int
}

// layout returns the plan of a file with n columns: the whole plan, or the
// earlier layout without the added columns when n says the file has none.
func (p *rowPlan) layout(n int) *rowPlan {
	if n != p.first || p.first == len(p.columns) {
		return p
	}
	return &rowPlan{columns: p.columns[:p.first], byName: p.byName, first: p.first}
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
	if t.NumField() > 64 {
		// The JSONL reader tracks the columns seen in a uint64.
		panic(fmt.Sprintf("audit: %s has more than 64 columns", t.Name()))
	}
	p := &rowPlan{byName: make(map[string]int, t.NumField()), first: -1}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := cutComma(f.Tag.Get("parquet"))
		if name == "" || name == "-" {
			panic(fmt.Sprintf("audit: field %s.%s has no parquet column name", t.Name(), f.Name))
		}
		switch added := f.Tag.Get("layout") == "added"; {
		case added && !kindOf(f.Type).nullable():
			panic(fmt.Sprintf("audit: added column %s.%s must be nullable", t.Name(), f.Name))
		case !added && p.first >= 0:
			panic(fmt.Sprintf("audit: column %s.%s follows added columns", t.Name(), f.Name))
		case added && p.first < 0:
			p.first = i
		}
		sep := byte(',')
		if len(p.columns) == 0 {
			sep = '{'
		}
		key := appendJSONString([]byte{sep}, name)
		p.byName[name] = len(p.columns)
		p.columns = append(p.columns, planColumn{
			name: name, index: i, kind: kindOf(f.Type), jsonKey: append(key, ':'), quoted: bytes.Clone(key[1:]),
		})
	}
	if p.first < 0 {
		p.first = len(p.columns)
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
// a UTC time. The spelling the writers produce is parsed by hand (time.Parse
// is a large share of a row's reading); anything else goes to time.Parse,
// so what is accepted, and every error, stays time.Parse's.
func parseTextTime[S string | []byte](s S) (time.Time, error) {
	if t, ok := parseCanonicalTime(s); ok {
		return t, nil
	}
	return time.Parse(timeLayout, string(s))
}

// parseCanonicalTime parses "YYYY-MM-DDTHH:MM:SS.ffffffZ" with every field
// in range, which time.Parse reads as the same instant; ok is false for
// anything else.
func parseCanonicalTime[S string | []byte](s S) (t time.Time, ok bool) {
	if len(s) != len(timeLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z' {
		return time.Time{}, false
	}
	num := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			c := s[i] - '0'
			if c > 9 {
				ok = false
			}
			n = n*10 + int(c)
		}
		return n
	}
	ok = true
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec, micro := num(11, 13), num(14, 16), num(17, 19), num(20, 26)
	if !ok || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	// time.Date normalises Feb 30 to Mar 2; time.Parse rejects it.
	if day > 28 && time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Day() != day {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, micro*1000, time.UTC), true
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
		// Most bytes need nothing: skip them eight at a time, then go
		// straight to the byte to escape or the multi-byte rune to check.
		if i+8 <= len(s) {
			x := load64(s[i:])
			m := jsonSpecialBytes(x) | x&highs8
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) / 8
		}
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
//
// Lines are parsed by jsonlParser rather than encoding/json: a Decoder's
// Token API costs tens of microseconds per row, and these objects are flat.
func readJSONL[T Row](path string, fn func(*T) error) error {
	base := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", base, err)
	}
	defer f.Close()
	p := newJSONLParser(planOf[T]())
	br := bufio.NewReaderSize(f, jsonlBufferSize)
	var long []byte
	for n := 1; ; n++ {
		line, err := nextLine(br, &long)
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
		if err := p.decode(line, reflect.ValueOf(row).Elem()); err != nil {
			return fmt.Errorf("read %s row %d: %w", base, n, err)
		}
		if err := fn(row); err != nil {
			return fmt.Errorf("read %s row %d: %w", base, n, err)
		}
	}
}

// nextLine returns the next line without its "\n", or io.EOF at the end of
// the input (with the unterminated rest, if any). The line is br's own
// buffer, valid until the next read, which spares a copy of every line;
// only a line longer than the buffer (a large payload) is assembled in
// *long, which is kept for reuse.
func nextLine(br *bufio.Reader, long *[]byte) ([]byte, error) {
	chunk, err := br.ReadSlice('\n')
	if err == nil {
		return chunk[:len(chunk)-1], nil
	}
	if err != bufio.ErrBufferFull {
		return chunk, err
	}
	buf := append((*long)[:0], chunk...)
	for {
		chunk, err = br.ReadSlice('\n')
		buf = append(buf, chunk...)
		*long = buf
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

// colValue is one column's value parsed from a line or record, before it
// is stored in a row: rows are filled only once a whole line is known to be
// good, with one string allocation for all of a row's strings.
type colValue struct {
	null       bool
	start, end int   // a string's bytes in the row's string buffer
	n          int64 // an int64, or a bool as 0 or 1
	t          time.Time
}

// pointees holds the values a row's non-nil pointer fields point to, one
// slice per type, so a row costs a few allocations, not one per pointer.
type pointees struct {
	strings []string
	ints    []int64
	bools   []bool
	times   []time.Time
}

// newPointees allocates room for the non-null pointer values of vals.
func (p *rowPlan) newPointees(vals []colValue) pointees {
	var ns, ni, nb, nt int
	for i := range p.columns {
		if vals[i].null {
			continue
		}
		switch p.columns[i].kind {
		case kindStringPtr:
			ns++
		case kindInt64Ptr:
			ni++
		case kindBoolPtr:
			nb++
		case kindTimePtr:
			nt++
		}
	}
	var ps pointees
	if ns > 0 {
		ps.strings = make([]string, 0, ns)
	}
	if ni > 0 {
		ps.ints = make([]int64, 0, ni)
	}
	if nb > 0 {
		ps.bools = make([]bool, 0, nb)
	}
	if nt > 0 {
		ps.times = make([]time.Time, 0, nt)
	}
	return ps
}

// storeRow sets the fields of v (a zero T) from vals; strings are slices of
// all. Values go through Value.SetString and the like, which, unlike
// reflect.ValueOf(value) or Addr().Interface(), cost no allocation and
// little time; only a time is stored through a typed pointer.
func (p *rowPlan) storeRow(v reflect.Value, vals []colValue, all string) {
	ps := p.newPointees(vals)
	for i := range p.columns {
		c, val := &p.columns[i], &vals[i]
		if val.null {
			continue // a nil pointer
		}
		f := v.Field(c.index)
		switch c.kind {
		case kindString:
			f.SetString(all[val.start:val.end])
		case kindInt64:
			f.SetInt(val.n)
		case kindBool:
			f.SetBool(val.n != 0)
		case kindTime:
			*f.Addr().Interface().(*time.Time) = val.t
		case kindStringPtr:
			ps.strings = append(ps.strings, all[val.start:val.end])
			f.Set(reflect.ValueOf(&ps.strings[len(ps.strings)-1]))
		case kindInt64Ptr:
			ps.ints = append(ps.ints, val.n)
			f.Set(reflect.ValueOf(&ps.ints[len(ps.ints)-1]))
		case kindBoolPtr:
			ps.bools = append(ps.bools, val.n != 0)
			f.Set(reflect.ValueOf(&ps.bools[len(ps.bools)-1]))
		case kindTimePtr:
			ps.times = append(ps.times, val.t)
			f.Set(reflect.ValueOf(&ps.times[len(ps.times)-1]))
		}
	}
}

// nullable reports whether a column of this kind may be null.
func (k fieldKind) nullable() bool {
	return k == kindStringPtr || k == kindInt64Ptr || k == kindBoolPtr || k == kindTimePtr
}

// base is the kind without the pointer: kindString for kindStringPtr.
func (k fieldKind) base() fieldKind {
	if k.nullable() {
		return k - 1 // each pointer kind follows its value kind
	}
	return k
}

// wantJSON says what JSON a column of this kind takes, for error messages
// (the wording of the encoding/json-based reader this one replaced).
func (k fieldKind) wantJSON() string {
	switch k.base() {
	case kindInt64:
		return "an integer"
	case kindBool:
		return "true or false"
	case kindTime:
		return "a time string"
	}
	return "a string"
}

// jsonlParser decodes JSONL lines of one row type, strictly: one object of
// exactly the plan's columns, JSON whitespace allowed between tokens as
// encoding/json allows it, scalar values only. Its buffers are reused from
// line to line.
type jsonlParser struct {
	plan *rowPlan
	line []byte
	pos  int
	strs []byte     // decoded string values of the line, concatenated
	vals []colValue // one per column
	seen uint64     // bit i: column i was present
	next int        // the column expected next: lines follow column order
}

// newJSONLParser returns a parser for rows of plan.
func newJSONLParser(plan *rowPlan) *jsonlParser {
	return &jsonlParser{plan: plan, vals: make([]colValue, len(plan.columns))}
}

// errEndOfLine is a line that stops in the middle of the object.
var errEndOfLine = errors.New("bad JSON: unexpected end of line")

// decode parses line into v (a zero T).
func (p *jsonlParser) decode(line []byte, v reflect.Value) error {
	if !utf8.Valid(line) {
		return errors.New("line is not valid UTF-8")
	}
	p.line, p.pos, p.strs, p.seen, p.next = line, 0, p.strs[:0], 0, 0
	if p.skipSpace() != '{' {
		return errors.New("line is not a JSON object")
	}
	p.pos++
	if err := p.members(); err != nil {
		return err
	}
	if p.skipSpace(); p.pos != len(p.line) {
		return errors.New("data after the JSON object")
	}
	for i, c := range p.plan.columns {
		if p.seen&(1<<i) == 0 {
			if i < p.plan.first {
				return fmt.Errorf("column %s: missing", c.name)
			}
			p.vals[i] = colValue{null: true} // an added column, absent from an earlier layout
		}
	}
	p.plan.storeRow(v, p.vals, string(p.strs))
	return nil
}

// members parses the object's members after its '{', and its '}'.
func (p *jsonlParser) members() error {
	if p.skipSpace() == '}' {
		p.pos++
		return nil
	}
	for {
		i, err := p.key()
		if err != nil {
			return err
		}
		if err := p.value(i); err != nil {
			return fmt.Errorf("column %s: %w", p.plan.columns[i].name, err)
		}
		switch p.skipSpace() {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.syntaxError("after an object value")
		}
	}
}

// key parses a member's key and its ':', and returns the key's column.
func (p *jsonlParser) key() (int, error) {
	if p.skipSpace() != '"' {
		return 0, p.syntaxError("looking for an object key")
	}
	// Lines follow column order, so the key is most likely the next
	// column's name, quoted and without escapes: compare bytes.
	i := p.next
	if i < len(p.plan.columns) && bytes.HasPrefix(p.line[p.pos:], p.plan.columns[i].quoted) {
		p.pos += len(p.plan.columns[i].quoted)
	} else {
		start := len(p.strs)
		if err := p.appendString(); err != nil {
			return 0, err
		}
		key := p.strs[start:]
		p.strs = p.strs[:start] // keys are not kept
		var ok bool
		if i, ok = p.plan.byName[string(key)]; !ok {
			return 0, fmt.Errorf("unknown column %q", key)
		}
	}
	if p.seen&(1<<i) != 0 {
		return 0, fmt.Errorf("column %s: appears twice", p.plan.columns[i].name)
	}
	p.seen |= 1 << i
	p.next = i + 1
	if p.skipSpace() != ':' {
		return 0, p.syntaxError("after an object key")
	}
	p.pos++
	p.skipSpace()
	return i, nil
}

// value parses the value of column i into p.vals[i].
func (p *jsonlParser) value(i int) error {
	kind, val := p.plan.columns[i].kind, &p.vals[i]
	*val = colValue{}
	if p.pos >= len(p.line) {
		return errEndOfLine
	}
	switch b := p.line[p.pos]; b {
	case '"':
		val.start = len(p.strs)
		if err := p.appendString(); err != nil {
			return err
		}
		return p.stringValue(kind, val)
	case 'n':
		if err := p.literal("null"); err != nil {
			return err
		}
		if !kind.nullable() {
			return errors.New("null in a non-nullable column")
		}
		val.null = true
	case 't', 'f':
		lit := "false"
		if b == 't' {
			lit, val.n = "true", 1
		}
		if err := p.literal(lit); err != nil {
			return err
		}
		if kind.base() != kindBool {
			return fmt.Errorf("got a bool, want %s", kind.wantJSON())
		}
	case '{', '[':
		return fmt.Errorf("got JSON %q, want a scalar", b)
	default:
		if b != '-' && (b < '0' || b > '9') {
			return p.syntaxError("looking for a value")
		}
		return p.number(kind, val)
	}
	return nil
}

// stringValue checks the string just appended to p.strs (from val.start)
// against the column's kind; a time is parsed and its bytes dropped.
func (p *jsonlParser) stringValue(kind fieldKind, val *colValue) error {
	val.end = len(p.strs)
	switch kind.base() {
	case kindString:
		return nil
	case kindTime:
		t, err := parseTextTime(p.strs[val.start:val.end])
		p.strs = p.strs[:val.start]
		val.t = t
		return err
	}
	return fmt.Errorf("got a string, want %s", kind.wantJSON())
}

// literal consumes the literal word (true, false or null) at p.pos.
func (p *jsonlParser) literal(word string) error {
	if len(p.line)-p.pos < len(word) || string(p.line[p.pos:p.pos+len(word)]) != word {
		return p.syntaxError("in a literal")
	}
	p.pos += len(word)
	return nil
}

// number parses a JSON number at p.pos into val.n. Any JSON number is
// read (so a fraction is a type error, not a syntax error), then it must
// be an integer within int64, as strconv.ParseInt would say.
func (p *jsonlParser) number(kind fieldKind, val *colValue) error {
	start := p.pos
	neg := p.line[p.pos] == '-'
	if neg {
		p.pos++
	}
	digits := p.digits()
	if digits == 0 || (digits > 1 && p.line[p.pos-digits] == '0') {
		return p.syntaxError("in a number") // JSON has no leading zeros
	}
	integer := true
	if p.pos < len(p.line) && p.line[p.pos] == '.' {
		p.pos++
		if p.digits() == 0 {
			return p.syntaxError("after a decimal point")
		}
		integer = false
	}
	if p.pos < len(p.line) && (p.line[p.pos] == 'e' || p.line[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.line) && (p.line[p.pos] == '+' || p.line[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return p.syntaxError("in an exponent")
		}
		integer = false
	}
	if kind.base() != kindInt64 {
		return fmt.Errorf("got a number, want %s", kind.wantJSON())
	}
	n, ok := parseDigits(p.line[start:p.pos], neg, digits, integer)
	if !ok {
		// Let strconv word the error, as the reader this one replaced did.
		_, err := strconv.ParseInt(string(p.line[start:p.pos]), 10, 64)
		return fmt.Errorf("want an int64: %w", err)
	}
	val.n = n
	return nil
}

// digits consumes a run of decimal digits and returns its length.
func (p *jsonlParser) digits() int {
	start := p.pos
	for p.pos < len(p.line) && p.line[p.pos] >= '0' && p.line[p.pos] <= '9' {
		p.pos++
	}
	return p.pos - start
}

// parseDigits returns the int64 of a JSON integer (an optional '-' and
// digits) if it is one and in range.
func parseDigits(num []byte, neg bool, digits int, integer bool) (int64, bool) {
	if !integer || digits > 19 { // 19 digits cannot overflow a uint64
		return 0, false
	}
	var u uint64
	for _, c := range num[len(num)-digits:] {
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return int64(-u), true // -(1<<63) wraps to math.MinInt64, as wanted
	case !neg && u <= 1<<63-1:
		return int64(u), true
	}
	return 0, false
}

// jsonPlain marks the bytes a JSON string holds literally: not '"', '\'
// or a control character. Bytes from 0x80 are UTF-8, checked per line.
var jsonPlain = func() (plain [256]bool) {
	for b := 0x20; b < 256; b++ {
		plain[b] = b != '"' && b != '\\'
	}
	return plain
}()

// appendString parses the JSON string at p.pos (its opening quote) and
// appends its decoded bytes to p.strs.
func (p *jsonlParser) appendString() error {
	p.pos++
	for {
		start := p.pos
		p.pos += jsonPlainRun(p.line[p.pos:])
		p.strs = append(p.strs, p.line[start:p.pos]...)
		if p.pos >= len(p.line) {
			return errEndOfLine
		}
		switch p.line[p.pos] {
		case '"':
			p.pos++
			return nil
		case '\\':
			if err := p.escape(); err != nil {
				return err
			}
		default:
			return p.syntaxError("in a string")
		}
	}
}

// Masks for word-at-a-time byte tests.
const (
	lows8  = 0x0101010101010101
	highs8 = 0x8080808080808080
)

// jsonSpecialBytes returns a mask of x's bytes (x is eight bytes, the
// first in the low bits) that are '"', '\\' or a control character: the
// high bit of such a byte is set, and the mask is 0 if there is none. It
// is Hacker's Delight's has-zero-byte and has-byte-less-than tests: a
// borrow can flag a byte above a matching one, never below, so the lowest
// flagged byte is the first match. Bytes from 0x80 do not count.
func jsonSpecialBytes(x uint64) uint64 {
	quote, backslash := x^(lows8*'"'), x^(lows8*'\\')
	control := (x - lows8*0x20) &^ x
	return (control | (quote-lows8)&^quote | (backslash-lows8)&^backslash) & highs8
}

// load64 reads the eight bytes of s as a little-endian word; the compiler
// turns it into one load.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// jsonPlainRun returns how many bytes b starts with that a JSON string
// holds literally (the line is valid UTF-8, so bytes from 0x80 are). Strings
// are most of a line, so it tests eight bytes at a time first.
func jsonPlainRun(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if m := jsonSpecialBytes(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(b) && jsonPlain[b[i]] {
		i++
	}
	return i
}

// jsonUnescape maps the byte after '\' to what it stands for, for the
// one-byte escapes JSON has; 0 means not one of them.
var jsonUnescape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// escape decodes the escape at p.pos (its '\') as encoding/json does: a
// \u escape of a surrogate pair is one rune, and a surrogate that is not
// part of a pair is U+FFFD (the \u escape after it is read on its own).
func (p *jsonlParser) escape() error {
	if p.pos+1 >= len(p.line) {
		return errEndOfLine
	}
	if b := jsonUnescape[p.line[p.pos+1]]; b != 0 {
		p.strs = append(p.strs, b)
		p.pos += 2
		return nil
	}
	r := hex4(p.line[p.pos:])
	if r < 0 {
		p.pos++ // name the byte after '\'
		return p.syntaxError("in a string escape")
	}
	p.pos += 6
	if utf16.IsSurrogate(r) {
		r2 := hex4(p.line[p.pos:])
		if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
			r = pair
			p.pos += 6
		} else {
			r = utf8.RuneError
		}
	}
	p.strs = utf8.AppendRune(p.strs, r)
	return nil
}

// hex4 returns the rune of the \uXXXX escape that b starts with, or -1 if
// b does not start with one.
func hex4(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// skipSpace skips JSON whitespace and returns the byte after it, or 0 at
// the end of the line.
func (p *jsonlParser) skipSpace() byte {
	for ; p.pos < len(p.line); p.pos++ {
		switch c := p.line[p.pos]; c {
		case ' ', '\t', '\r', '\n':
		default:
			return c
		}
	}
	return 0
}

// syntaxError describes the byte at p.pos, which does not fit where.
func (p *jsonlParser) syntaxError(where string) error {
	if p.pos >= len(p.line) {
		return errEndOfLine
	}
	return fmt.Errorf("bad JSON: invalid character %q %s (byte %d)", p.line[p.pos], where, p.pos+1)
}
