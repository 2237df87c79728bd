package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// csvWriter writes RFC 4180 CSV: a header of the column names, then one
// record per row. A nil pointer is an empty field, so CSV cannot tell a nil
// pointer from a pointer to "": both read back as nil.
//
// It spells records itself, byte for byte as encoding/csv's Writer (comma
// delimiter, "\n" line ends) did when it wrote these files: a record is
// built in the bufio.Writer's free space with no allocation, where
// encoding/csv needed a formatted string per number and time and a
// buffered write per field and per comma (~2 µs more per event).
type csvWriter[T Row] struct {
	plan *rowPlan
	bw   *bufio.Writer
	rows int   // rows written, for error messages
	err  error // sticky: after a failed write the file is unusable
}

// newCSVWriter returns a CSV writer onto w and writes the header (into the
// buffer; a write error surfaces at the latest on Close).
func newCSVWriter[T Row](w io.Writer) (RowWriter[T], error) {
	plan := planOf[T]()
	bw := bufio.NewWriterSize(w, jsonlBufferSize)
	line := bw.AvailableBuffer()
	for i, c := range plan.columns {
		if i > 0 {
			line = append(line, ',')
		}
		line = appendCSVString(line, c.name)
	}
	if _, err := bw.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	return &csvWriter[T]{plan: plan, bw: bw}, nil
}

// Write writes one record.
func (w *csvWriter[T]) Write(row *T) error {
	if w.err != nil {
		return w.err
	}
	if row == nil {
		return errors.New("csv: nil row")
	}
	w.rows++
	v := reflect.ValueOf(row).Elem()
	line := w.bw.AvailableBuffer()
	for i := range w.plan.columns {
		c := &w.plan.columns[i]
		if i > 0 {
			line = append(line, ',')
		}
		var err error
		if line, err = appendCSVField(line, c.kind, v.Field(c.index)); err != nil {
			// Nothing reached the buffer, so the file is still consistent.
			return fmt.Errorf("csv row %d: column %s: %w", w.rows, c.name, err)
		}
	}
	if _, err := w.bw.Write(append(line, '\n')); err != nil {
		w.err = fmt.Errorf("csv: %w", err)
		return w.err
	}
	return nil
}

// Close flushes the buffer and reports any error it met; the underlying
// writer stays open.
func (w *csvWriter[T]) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("csv: %w", err)
		return w.err
	}
	w.err = errors.New("csv: writer is closed")
	return nil
}

// appendCSVField appends one field spelled the way JSONL spells its value,
// minus the JSON quoting: a nil pointer is "". Only strings can need CSV
// quoting: numbers, true/false and times never hold a comma, quote, line
// end or leading space.
func appendCSVField(dst []byte, kind fieldKind, f reflect.Value) ([]byte, error) {
	if kind.nullable() {
		if f.IsNil() {
			return dst, nil
		}
		f = f.Elem()
	}
	switch kind.base() {
	case kindString:
		return appendCSVString(dst, validUTF8(f.String())), nil
	case kindInt64:
		return strconv.AppendInt(dst, f.Int(), 10), nil
	case kindBool:
		return strconv.AppendBool(dst, f.Bool()), nil
	default: // kindTime
		return appendTextTime(dst, *f.Addr().Interface().(*time.Time))
	}
}

// validUTF8 replaces each invalid UTF-8 byte with U+FFFD, as the JSONL
// writer does, so both text formats are valid UTF-8 and agree.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	// strings.Map turns each invalid byte into one U+FFFD.
	return strings.Map(func(r rune) rune { return r }, s)
}

// appendCSVString appends s as encoding/csv's Writer writes a field with
// Comma ',' and UseCRLF false: quoted if csvNeedsQuotes says so, with each
// '"' doubled and every other byte ("\r" and "\n" included) as it is.
func appendCSVString(dst []byte, s string) []byte {
	if !csvNeedsQuotes(s) {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		dst = append(append(dst, s[:i+1]...), '"')
		s = s[i+1:]
	}
	return append(append(dst, s...), '"')
}

// csvSpecial marks the bytes that make encoding/csv quote a field.
var csvSpecial = [256]bool{',': true, '"': true, '\r': true, '\n': true}

// csvNeedsQuotes is encoding/csv's Writer.fieldNeedsQuotes for Comma ',':
// not the empty field; always `\.` (PostgreSQL's end-of-data marker); a
// field holding a comma, quote, "\r" or "\n"; or one whose first rune is a
// Unicode space (unicode.IsSpace, so also "\t", U+00A0, U+2028, ...).
func csvNeedsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s == `\.` {
		return true
	}
	for i := 0; i < len(s); i++ {
		if csvSpecial[s[i]] {
			return true
		}
	}
	r1, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r1)
}

// readCSV streams the rows of a CSV file to fn. The header must be T's
// column names exactly; rows are numbered from 1 after the header. Each *T
// passed to fn is a fresh value that fn may keep.
//
// It parses RFC 4180 itself rather than with encoding/csv's Reader, because
// that Reader turns "\r\n" inside a quoted field into "\n", which would
// change strings (and so hashes) that the writer wrote faithfully.
func readCSV[T Row](path string, fn func(*T) error) error {
	base := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", base, err)
	}
	defer f.Close()
	plan := planOf[T]()
	r := &csvReader{br: bufio.NewReaderSize(f, jsonlBufferSize)}
	header, err := r.readRecord()
	if err == io.EOF {
		return fmt.Errorf("read %s: no header", base)
	}
	if err != nil {
		return fmt.Errorf("read %s header: %w", base, err)
	}
	plan = plan.layout(len(header))
	if err := checkHeader(plan, header); err != nil {
		return fmt.Errorf("read %s header: %w", base, err)
	}
	vals := make([]colValue, len(plan.columns))
	for n := 1; ; n++ {
		record, err := r.readRecord()
		if err == io.EOF {
			return nil
		}
		if err == nil {
			err = checkFieldCount(plan, record)
		}
		if err != nil {
			return fmt.Errorf("read %s row %d: %w", base, n, err)
		}
		row := new(T)
		if err := plan.decodeCSV(record, r.all, vals, reflect.ValueOf(row).Elem()); err != nil {
			return fmt.Errorf("read %s row %d: %w", base, n, err)
		}
		if err := fn(row); err != nil {
			return fmt.Errorf("read %s row %d: %w", base, n, err)
		}
	}
}

// checkHeader reports the first header field that is not the column name
// expected there.
func checkHeader(plan *rowPlan, header []string) error {
	for i, c := range plan.columns {
		if i >= len(header) {
			return fmt.Errorf("column %d: missing, want %q", i+1, c.name)
		}
		if header[i] != c.name {
			return fmt.Errorf("column %d is %q, want %q", i+1, header[i], c.name)
		}
	}
	if len(header) > len(plan.columns) {
		return fmt.Errorf("column %d: unexpected %q (want %d columns)",
			len(plan.columns)+1, header[len(plan.columns)], len(plan.columns))
	}
	return nil
}

// checkFieldCount rejects a record with the wrong number of fields.
func checkFieldCount(plan *rowPlan, record []string) error {
	if len(record) != len(plan.columns) {
		return fmt.Errorf("%d fields, want %d", len(record), len(plan.columns))
	}
	return nil
}

// decodeCSV parses one record into vals and stores it into v (a zero T).
// The record's fields are slices of all (one string per record), so string
// columns are stored without a copy: their offsets in all go into vals.
func (p *rowPlan) decodeCSV(record []string, all string, vals []colValue, v reflect.Value) error {
	validRecord := utf8.ValidString(all)
	start := 0
	for i := range p.columns {
		c, s, val := &p.columns[i], record[i], &vals[i]
		*val = colValue{start: start, end: start + len(s)}
		start += len(s)
		if !validRecord && !utf8.ValidString(s) {
			return fmt.Errorf("column %s: not valid UTF-8", c.name)
		}
		if s == "" && c.kind.nullable() {
			val.null = true
			continue
		}
		switch c.kind.base() {
		case kindInt64:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("column %s: want an int64: %w", c.name, err)
			}
			val.n = n
		case kindBool:
			if s != "true" && s != "false" {
				return fmt.Errorf("column %s: got %q, want true or false", c.name, s)
			}
			if s == "true" {
				val.n = 1
			}
		case kindTime:
			t, err := parseTextTime(s)
			if err != nil {
				return fmt.Errorf("column %s: %w", c.name, err)
			}
			val.t = t
		}
	}
	p.storeRow(v, vals, all)
	return nil
}

// csvReader is a strict, streaming RFC 4180 record reader. A record ends
// with "\n" or "\r\n" outside quotes; every record, the last included, must
// end so, which catches a truncated file.
//
// It scans the bufio.Reader's buffer a line at a time (ReadSlice) and
// copies runs of plain bytes at once, rather than a byte per call.
type csvReader struct {
	br    *bufio.Reader
	chunk []byte   // the rest of the current line in br's buffer
	eof   error    // set once br has no more lines: io.EOF or a read error
	buf   []byte   // the current record's field bytes, concatenated
	ends  []int    // end offset of each field in buf
	out   []string // the current record's fields, reused
	all   string   // buf as one string; the fields are slices of it
}

// fill makes r.chunk the next piece of input: a line, its "\n" included,
// or as much of it as br holds. It returns io.EOF at the end of the input.
func (r *csvReader) fill() error {
	if r.eof != nil {
		return r.eof
	}
	chunk, err := r.br.ReadSlice('\n')
	if err != nil && err != bufio.ErrBufferFull {
		r.eof = err // chunk is the rest of the input, maybe empty
	}
	r.chunk = chunk
	if len(chunk) == 0 {
		return r.eof
	}
	return nil
}

// readByte returns the next input byte.
func (r *csvReader) readByte() (byte, error) {
	for len(r.chunk) == 0 {
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	b := r.chunk[0]
	r.chunk = r.chunk[1:]
	return b, nil
}

// readRecord returns the next record, or io.EOF at the end of the input.
// The record is valid until the next call.
func (r *csvReader) readRecord() ([]string, error) {
	r.buf, r.ends = r.buf[:0], r.ends[:0]
	b, err := r.readByte()
	if err == io.EOF {
		return nil, io.EOF
	}
	for err == nil {
		if b == '"' {
			b, err = r.quotedField()
		} else {
			b, err = r.unquotedField(b)
		}
		r.ends = append(r.ends, len(r.buf))
		if err != nil {
			break
		}
		if b == '\n' {
			return r.fields(), nil
		}
		b, err = r.readByte() // b was ',': start the next field
	}
	if err == io.EOF {
		return nil, errors.New("last record has no newline (truncated file?)")
	}
	return nil, err
}

// fields splits buf into strings with one allocation for the record.
func (r *csvReader) fields() []string {
	r.all = string(r.buf)
	r.out = r.out[:0]
	start := 0
	for _, end := range r.ends {
		r.out = append(r.out, r.all[start:end])
		start = end
	}
	return r.out
}

// unquotedField reads a field whose first byte is b up to its terminator,
// which it returns (',' or '\n', "\r\n" counting as '\n').
func (r *csvReader) unquotedField(b byte) (byte, error) {
	for {
		switch b {
		case ',', '\n':
			return b, nil
		case '\r':
			next, err := r.readByte()
			if err != nil || next != '\n' {
				return 0, errors.New(`bare "\r" in an unquoted field`)
			}
			return '\n', nil
		case '"':
			return 0, errors.New(`bare '"' in an unquoted field`)
		}
		r.buf = append(r.buf, b)
		// Copy the plain bytes up to the next special one at once.
		i := 0
		for i < len(r.chunk) && !csvSpecial[r.chunk[i]] {
			i++
		}
		r.buf = append(r.buf, r.chunk[:i]...)
		r.chunk = r.chunk[i:]
		var err error
		if b, err = r.readByte(); err != nil {
			return 0, err
		}
	}
}

// quotedField reads a quoted field after its opening quote, keeping every
// byte (newlines and "\r" included) and turning "" into ". It returns the
// terminator after the closing quote.
func (r *csvReader) quotedField() (byte, error) {
	for {
		i := bytes.IndexByte(r.chunk, '"')
		if i < 0 {
			r.buf = append(r.buf, r.chunk...)
			r.chunk = nil
			if err := r.fill(); err == io.EOF {
				return 0, errors.New("quoted field not closed (truncated file?)")
			} else if err != nil {
				return 0, err
			}
			continue
		}
		r.buf = append(r.buf, r.chunk[:i]...)
		r.chunk = r.chunk[i+1:]
		next, err := r.readByte()
		if err != nil {
			return 0, err
		}
		switch next {
		case '"':
			r.buf = append(r.buf, '"')
		case ',', '\n':
			return next, nil
		case '\r':
			if after, err := r.readByte(); err != nil || after != '\n' {
				return 0, errors.New(`bare "\r" after a quoted field`)
			}
			return '\n', nil
		default:
			return 0, fmt.Errorf("%q after a closing quote", next)
		}
	}
}
