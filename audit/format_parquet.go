package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// parquetBatch is how many rows the Parquet writer hands to the
// GenericWriter at once: per-call overhead in parquet-go is large, a batch
// amortises it, and 1024 rows stay small in memory.
const parquetBatch = 1024

// parquetRowsPerGroup caps a row group, so a reader can process a file a
// group at a time.
const parquetRowsPerGroup = 1_000_000

// parquetPageBuffer is each column's page buffer. parquet-go's default
// (256 KiB) made peak RSS grow with the rows exported (115 MB at 93k events,
// 183 MB at 929k); at 64 KiB it is 68 and 74 MB, for files about 8% larger
// and the same speed (BENCHMARKS.md, "Exports vs. a bare COPY").
const parquetPageBuffer = 64 * 1024

// parquetCodec is shared by all writers: it pools zstd encoders, and its
// single-threaded default level gives the same bytes on every run.
var parquetCodec = &zstd.Codec{Level: zstd.SpeedDefault, Concurrency: 1}

// parquetWriterOptions are the options of every export's Parquet writer.
// CreatedBy is a constant, not parquet-go's default (which names the
// library's build), so two exports of the same rows are byte-identical
// whatever binary made them. Page buffers live in temporary files, so
// memory does not grow with the rows of a row group.
func parquetWriterOptions() []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.MaxRowsPerRowGroup(parquetRowsPerGroup),
		parquet.PageBufferSize(parquetPageBuffer),
		parquet.ColumnPageBuffers(parquet.NewFileBufferPool(os.TempDir(), "archiver-export-*")),
		parquet.CreatedBy("sendfile-archive", "export/1", ""),
		parquet.Compression(parquetCodec),
	}
}

// parquetWriter batches rows into a parquet.GenericWriter, which writes
// typed columns from T's struct tags: int64, string, optional columns for
// pointers and microsecond UTC timestamps.
type parquetWriter[T Row] struct {
	w     *parquet.GenericWriter[T]
	batch []T
	err   error // sticky
}

// newParquetWriter returns a Parquet writer onto w.
func newParquetWriter[T Row](w io.Writer) (RowWriter[T], error) {
	return &parquetWriter[T]{
		w:     parquet.NewGenericWriter[T](w, parquetWriterOptions()...),
		batch: make([]T, 0, parquetBatch),
	}, nil
}

// Write buffers one row, writing a full batch.
func (w *parquetWriter[T]) Write(row *T) error {
	if w.err != nil {
		return w.err
	}
	if row == nil {
		return errors.New("parquet: nil row")
	}
	w.batch = append(w.batch, *row)
	if len(w.batch) == parquetBatch {
		return w.flushBatch()
	}
	return nil
}

// flushBatch hands the batch to the GenericWriter and empties it (clearing
// it so the copied rows' strings can be collected).
func (w *parquetWriter[T]) flushBatch() error {
	if len(w.batch) == 0 {
		return nil
	}
	_, err := w.w.Write(w.batch)
	clear(w.batch)
	w.batch = w.batch[:0]
	if err != nil {
		w.err = fmt.Errorf("parquet: %w", err)
	}
	return w.err
}

// Close writes the last batch and the file footer; the underlying writer
// stays open (GenericWriter.Close does not close it).
func (w *parquetWriter[T]) Close() error {
	if err := w.flushBatch(); err != nil {
		return err
	}
	if err := w.w.Close(); err != nil {
		w.err = fmt.Errorf("parquet: %w", err)
		return w.err
	}
	w.err = errors.New("parquet: writer is closed")
	return nil
}

// parquetReadBatch is how many rows the reader asks parquet-go for at
// once. Larger batches do not help: parquet-go stops a read at the end of
// a page anyway, and 4096 or more rows of values no longer stay in the CPU
// caches (measured slower). The rows' value slices are reused.
const parquetReadBatch = 1024

// readParquet streams the rows of a Parquet file to fn, a batch at a time.
// The file's columns must be T's, by name, order, type and optionality.
// Times come back in UTC. Rows are numbered from 1. Each *T passed to fn is
// a fresh value that fn may keep.
//
// It reads parquet.Rows (flat lists of column values) and fills rows with
// the plan the text formats use, rather than GenericReader.Read: that
// reconstructs each row by reflection, with an allocation per string and
// pointer, which was most of the reading time.
func readParquet[T Row](path string, fn func(*T) error) error {
	base := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", base, err)
	}
	defer f.Close()
	r, err := openParquet[T](f)
	if err != nil {
		return fmt.Errorf("read %s: %w", base, err)
	}
	defer r.Close()
	// The reader gives rows in T's columns, the added ones null in a file
	// of an earlier layout.
	d := parquetDecoder{plan: planOf[T]()}
	d.vals = make([]colValue, len(d.plan.columns))
	batch := make([]parquet.Row, parquetReadBatch)
	for n := 0; ; {
		got, err := readParquetRows(r, batch)
		for i := range got {
			n++
			row := new(T)
			if err := d.decode(batch[i], reflect.ValueOf(row).Elem()); err != nil {
				return fmt.Errorf("read %s row %d: %w", base, n, err)
			}
			if err := fn(row); err != nil {
				return fmt.Errorf("read %s row %d: %w", base, n, err)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s row %d: %w", base, n+1, err)
		}
	}
}

// openParquet opens the Parquet file f, checks that its columns are T's
// (or an earlier layout of them), and returns a reader of its rows.
func openParquet[T Row](f *os.File) (*parquet.GenericReader[T], error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, err
	}
	if err := checkParquetSchema[T](pf.Schema()); err != nil {
		return nil, err
	}
	return newParquetReader[T](pf)
}

// newParquetReader wraps parquet.NewGenericReader, which panics rather than
// returning errors; a damaged file must give an error, not a crash.
func newParquetReader[T Row](pf *parquet.File) (r *parquet.GenericReader[T], err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parquet: %v", p)
		}
	}()
	return parquet.NewGenericReader[T](pf), nil
}

// readParquetRows reads the next rows into batch, turning a panic on a
// damaged page into an error.
func readParquetRows[T Row](r *parquet.GenericReader[T], batch []parquet.Row) (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("parquet: %v", p)
		}
	}()
	return r.ReadRows(batch)
}

// parquetDecoder turns parquet.Rows of a flat schema into rows of one
// type. Its buffers are reused from row to row.
type parquetDecoder struct {
	plan *rowPlan
	vals []colValue
	strs []byte // the row's strings, concatenated
}

// parquetKinds is the physical type each field kind is stored as.
var parquetKinds = [...]parquet.Kind{
	kindString: parquet.ByteArray, kindInt64: parquet.Int64, kindBool: parquet.Boolean, kindTime: parquet.Int64,
}

// decode stores the column values of row into v (a zero T). A value's
// string bytes may be parquet-go's page buffer, which the next read
// reuses: they are copied, into one string for the row.
func (d *parquetDecoder) decode(row parquet.Row, v reflect.Value) error {
	if len(row) != len(d.plan.columns) {
		return fmt.Errorf("%d values, want %d", len(row), len(d.plan.columns))
	}
	d.strs = d.strs[:0]
	for i := range d.plan.columns {
		c, x, val := &d.plan.columns[i], row[i], &d.vals[i]
		*val = colValue{}
		switch {
		case x.Column() != i:
			return fmt.Errorf("column %s: value of column %d", c.name, x.Column()+1)
		case x.IsNull():
			if !c.kind.nullable() {
				return fmt.Errorf("column %s: null in a required column", c.name)
			}
			val.null = true
			continue
		case x.Kind() != parquetKinds[c.kind.base()]:
			return fmt.Errorf("column %s: got %s, want %s", c.name, x.Kind(), parquetKinds[c.kind.base()])
		}
		switch c.kind.base() {
		case kindString:
			val.start = len(d.strs)
			d.strs = append(d.strs, x.ByteArray()...)
			val.end = len(d.strs)
		case kindInt64:
			val.n = x.Int64()
		case kindBool:
			if x.Boolean() {
				val.n = 1
			}
		case kindTime:
			// Microseconds, as the schema check made sure; UnixMicro
			// (not parquet-go's micros*1000 nanoseconds, which overflow
			// outside years 1678-2262) gives any year back.
			val.t = time.UnixMicro(x.Int64()).UTC()
		}
	}
	d.plan.storeRow(v, d.vals, string(d.strs))
	return nil
}

// checkParquetSchema compares the file's top-level columns with T's.
func checkParquetSchema[T Row](got *parquet.Schema) error {
	want := parquet.SchemaOf(new(T)).Fields()
	have := got.Fields()
	want = want[:len(planOf[T]().layout(len(have)).columns)]
	for i, w := range want {
		if i >= len(have) {
			return fmt.Errorf("column %d: missing, want %s", i+1, describeParquetField(w))
		}
		if describeParquetField(have[i]) != describeParquetField(w) {
			return fmt.Errorf("column %d is %s, want %s", i+1, describeParquetField(have[i]), describeParquetField(w))
		}
	}
	if len(have) > len(want) {
		return fmt.Errorf("column %d: unexpected %s (want %d columns)", len(want)+1, describeParquetField(have[len(want)]), len(want))
	}
	return nil
}

// describeParquetField names a column with its type, e.g.
// "occurred_at required TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)".
func describeParquetField(f parquet.Field) string {
	rep := "required"
	switch {
	case f.Optional():
		rep = "optional"
	case f.Repeated():
		rep = "repeated"
	}
	if !f.Leaf() {
		return fmt.Sprintf("%s %s group", f.Name(), rep)
	}
	return fmt.Sprintf("%s %s %s", f.Name(), rep, f.Type())
}
