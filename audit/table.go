package audit

import (
	"fmt"
	"io"
)

// Format is an export file format.
type Format string

// Export formats.
const (
	FormatJSONL   Format = "jsonl"
	FormatCSV     Format = "csv"
	FormatParquet Format = "parquet"
)

// Formats lists every format, for flags and messages.
var Formats = []Format{FormatJSONL, FormatCSV, FormatParquet}

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q: want jsonl, csv or parquet", s)
}

// Row is one of the export's row types.
type Row interface {
	EventRow | SendRow | InstanceRow | ContentRow
}

// RowWriter writes the rows of one table to one file, streaming: memory
// does not grow with the number of rows.
type RowWriter[T Row] interface {
	Write(row *T) error
	// Close flushes what is buffered and finishes the file (it does not
	// close the underlying writer).
	Close() error
}

// NewWriter returns a writer of T rows in format f onto w.
func NewWriter[T Row](f Format, w io.Writer) (RowWriter[T], error) {
	switch f {
	case FormatJSONL:
		return newJSONLWriter[T](w), nil
	case FormatCSV:
		return newCSVWriter[T](w)
	case FormatParquet:
		return newParquetWriter[T](w)
	}
	return nil, fmt.Errorf("unknown format %q", f)
}

// ReadRows streams the T rows of the file at path, written in format f, to
// fn, in order. It reports the first row that cannot be read, by number.
func ReadRows[T Row](f Format, path string, fn func(*T) error) error {
	switch f {
	case FormatJSONL:
		return readJSONL(path, fn)
	case FormatCSV:
		return readCSV(path, fn)
	case FormatParquet:
		return readParquet(path, fn)
	}
	return fmt.Errorf("unknown format %q", f)
}
