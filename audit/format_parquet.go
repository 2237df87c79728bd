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

// readParquet streams the rows of a Parquet file to fn, a batch at a time.
// The file's columns must be T's, by name, order, type and optionality.
// Times come back in UTC. Rows are numbered from 1. Each *T passed to fn is
// a fresh value that fn may keep.
func readParquet[T Row](path string, fn func(*T) error) error {
	base := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", base, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read %s: %w", base, err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return fmt.Errorf("read %s: %w", base, err)
	}
	if err := checkParquetSchema[T](pf.Schema()); err != nil {
		return fmt.Errorf("read %s: %w", base, err)
	}
	r, err := newParquetReader[T](pf)
	if err != nil {
		return fmt.Errorf("read %s: %w", base, err)
	}
	defer r.Close()
	plan := planOf[T]()
	batch := make([]T, parquetBatch)
	for n := 0; ; {
		got, err := readParquetBatch(r, batch)
		for i := range got {
			n++
			row := new(T)
			*row = batch[i]
			plan.timesToUTC(reflect.ValueOf(row).Elem())
			if err := fn(row); err != nil {
				return fmt.Errorf("read %s row %d: %w", base, n, err)
			}
		}
		clear(batch[:got])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s row %d: %w", base, n+1, err)
		}
	}
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

// readParquetBatch reads the next rows into batch, turning a panic on a
// damaged page into an error.
func readParquetBatch[T Row](r *parquet.GenericReader[T], batch []T) (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("parquet: %v", p)
		}
	}()
	return r.Read(batch)
}

// checkParquetSchema compares the file's top-level columns with T's.
func checkParquetSchema[T Row](got *parquet.Schema) error {
	want := parquet.SchemaOf(new(T)).Fields()
	have := got.Fields()
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

// timesToUTC sets the location of every time field of v to UTC. parquet-go
// v0.32.0 already returns UTC, but that is its choice, not a documented
// promise, and rows read back must equal rows written (which are UTC).
func (p *rowPlan) timesToUTC(v reflect.Value) {
	for i := range p.columns {
		c := &p.columns[i]
		switch c.kind {
		case kindTime:
			t := v.Field(c.index).Addr().Interface().(*time.Time)
			*t = t.UTC()
		case kindTimePtr:
			if f := v.Field(c.index); !f.IsNil() {
				t := f.Interface().(*time.Time)
				*t = t.UTC()
			}
		}
	}
}
