package audit

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// csvWriter writes RFC 4180 CSV with encoding/csv: a header of the column
// names, then one record per row. A nil pointer is an empty field, so CSV
// cannot tell a nil pointer from a pointer to "": both read back as nil.
type csvWriter[T Row] struct {
	plan   *rowPlan
	cw     *csv.Writer
	record []string // reused for every row
	rows   int      // rows written, for error messages
	err    error    // sticky
}

// newCSVWriter returns a CSV writer onto w and writes the header (into the
// buffer; a write error surfaces at the latest on Close).
func newCSVWriter[T Row](w io.Writer) (RowWriter[T], error) {
	plan := planOf[T]()
	// csv.NewWriter reuses a *bufio.Writer that is big enough, so this is
	// the only buffer, and csv.Writer.Flush flushes it.
	cw := csv.NewWriter(bufio.NewWriterSize(w, jsonlBufferSize))
	if err := cw.Write(plan.names()); err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	return &csvWriter[T]{plan: plan, cw: cw, record: make([]string, len(plan.columns))}, nil
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
	for i := range w.plan.columns {
		c := &w.plan.columns[i]
		s, err := formatCSVField(c.kind, v.Field(c.index))
		if err != nil {
			return fmt.Errorf("csv row %d: column %s: %w", w.rows, c.name, err)
		}
		w.record[i] = s
	}
	if err := w.cw.Write(w.record); err != nil {
		w.err = fmt.Errorf("csv: %w", err)
		return w.err
	}
	return nil
}

// Close flushes the CSV writer and reports any error it met; the
// underlying writer stays open.
func (w *csvWriter[T]) Close() error {
	if w.err != nil {
		return w.err
	}
	w.cw.Flush()
	if err := w.cw.Error(); err != nil {
		w.err = fmt.Errorf("csv: %w", err)
		return w.err
	}
	w.err = errors.New("csv: writer is closed")
	return nil
}

// formatCSVField spells one field the way JSONL spells its value, minus the
// JSON quoting: a nil pointer is "".
func formatCSVField(kind fieldKind, f reflect.Value) (string, error) {
	switch kind {
	case kindStringPtr, kindInt64Ptr, kindBoolPtr, kindTimePtr:
		if f.IsNil() {
			return "", nil
		}
		f = f.Elem()
	}
	switch kind {
	case kindString, kindStringPtr:
		return validUTF8(f.String()), nil
	case kindInt64, kindInt64Ptr:
		return strconv.FormatInt(f.Int(), 10), nil
	case kindBool, kindBoolPtr:
		return strconv.FormatBool(f.Bool()), nil
	default: // kindTime, kindTimePtr
		var scratch [len(timeLayout)]byte
		b, err := appendTextTime(scratch[:0], *f.Addr().Interface().(*time.Time))
		return string(b), err
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
	if err := checkHeader(plan, header); err != nil {
		return fmt.Errorf("read %s header: %w", base, err)
	}
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
		if err := plan.decodeCSV(record, reflect.ValueOf(row).Elem()); err != nil {
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

// decodeCSV stores one record into v (a zero T).
func (p *rowPlan) decodeCSV(record []string, v reflect.Value) error {
	for i := range p.columns {
		c := &p.columns[i]
		s := record[i]
		if !utf8.ValidString(s) {
			return fmt.Errorf("column %s: not valid UTF-8", c.name)
		}
		var val reflect.Value
		switch c.kind {
		case kindStringPtr, kindInt64Ptr, kindBoolPtr, kindTimePtr:
			if s == "" {
				continue // nil pointer
			}
		}
		switch c.kind {
		case kindString, kindStringPtr:
			val = reflect.ValueOf(s)
		case kindInt64, kindInt64Ptr:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("column %s: want an int64: %w", c.name, err)
			}
			val = reflect.ValueOf(n)
		case kindBool, kindBoolPtr:
			if s != "true" && s != "false" {
				return fmt.Errorf("column %s: got %q, want true or false", c.name, s)
			}
			val = reflect.ValueOf(s == "true")
		case kindTime, kindTimePtr:
			t, err := parseTextTime(s)
			if err != nil {
				return fmt.Errorf("column %s: %w", c.name, err)
			}
			val = reflect.ValueOf(t)
		}
		setField(v.Field(c.index), val)
	}
	return nil
}

// csvReader is a strict, streaming RFC 4180 record reader. A record ends
// with "\n" or "\r\n" outside quotes; every record, the last included, must
// end so, which catches a truncated file.
type csvReader struct {
	br   *bufio.Reader
	buf  []byte // the current record's field bytes, concatenated
	ends []int  // end offset of each field in buf
}

// readRecord returns the next record, or io.EOF at the end of the input.
func (r *csvReader) readRecord() ([]string, error) {
	r.buf, r.ends = r.buf[:0], r.ends[:0]
	b, err := r.br.ReadByte()
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
		b, err = r.br.ReadByte() // b was ',': start the next field
	}
	if err == io.EOF {
		return nil, errors.New("last record has no newline (truncated file?)")
	}
	return nil, err
}

// fields splits buf into strings with one allocation for the record.
func (r *csvReader) fields() []string {
	all := string(r.buf)
	out := make([]string, len(r.ends))
	start := 0
	for i, end := range r.ends {
		out[i] = all[start:end]
		start = end
	}
	return out
}

// unquotedField reads a field whose first byte is b up to its terminator,
// which it returns (',' or '\n', "\r\n" counting as '\n').
func (r *csvReader) unquotedField(b byte) (byte, error) {
	for {
		switch b {
		case ',', '\n':
			return b, nil
		case '\r':
			next, err := r.br.ReadByte()
			if err != nil || next != '\n' {
				return 0, errors.New(`bare "\r" in an unquoted field`)
			}
			return '\n', nil
		case '"':
			return 0, errors.New(`bare '"' in an unquoted field`)
		}
		r.buf = append(r.buf, b)
		var err error
		if b, err = r.br.ReadByte(); err != nil {
			return 0, err
		}
	}
}

// quotedField reads a quoted field after its opening quote, keeping every
// byte (newlines and "\r" included) and turning "" into ". It returns the
// terminator after the closing quote.
func (r *csvReader) quotedField() (byte, error) {
	for {
		b, err := r.br.ReadByte()
		if err == io.EOF {
			return 0, errors.New("quoted field not closed (truncated file?)")
		}
		if err != nil {
			return 0, err
		}
		if b != '"' {
			r.buf = append(r.buf, b)
			continue
		}
		next, err := r.br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch next {
		case '"':
			r.buf = append(r.buf, '"')
		case ',', '\n':
			return next, nil
		case '\r':
			if after, err := r.br.ReadByte(); err != nil || after != '\n' {
				return 0, errors.New(`bare "\r" after a quoted field`)
			}
			return '\n', nil
		default:
			return 0, fmt.Errorf("%q after a closing quote", next)
		}
	}
}
