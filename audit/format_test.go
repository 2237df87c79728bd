package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// stringPieces are concatenated into random strings: each is something a
// text format has to quote, escape or pass through untouched.
var stringPieces = []string{
	"", "a", "plain text", `"quoted"`, ",", ";", "\n", "\r\n", "\r", "\t",
	`\`, `\\n`, "<>&", "é😀", "中文", "\x00", "\x01", "\x1f", "\x7f",
	" leading", "trailing ", "\u2028\u2029", `{"k":[1,"v"]}`, `\.`, "null",
	"true", "-12", "2026-03-01T09:00:03.500000Z", "\ufffd",
}

// randString returns a valid UTF-8 string of up to four pieces.
func randString(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(5) {
		b.WriteString(stringPieces[r.IntN(len(stringPieces))])
	}
	return b.String()
}

// randInt64 favours the edges of int64.
func randInt64(r *rand.Rand) int64 {
	switch r.IntN(6) {
	case 0:
		return 0
	case 1:
		return math.MinInt64
	case 2:
		return math.MaxInt64
	case 3:
		return -r.Int64N(1 << 40)
	default:
		return r.Int64() - r.Int64()
	}
}

// textTimeRangeEnd bounds random times: years 1970 to 2100.
var textTimeRangeEnd = time.Date(2100, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()

// randTime returns a UTC time with microsecond precision.
func randTime(r *rand.Rand) time.Time {
	return time.UnixMicro(r.Int64N(textTimeRangeEnd + 1)).UTC()
}

// randValue returns a random value of type t (one of the row field types);
// a pointer is nil one time in three.
func randValue(r *rand.Rand, t reflect.Type) reflect.Value {
	if t.Kind() == reflect.Pointer {
		if r.IntN(3) == 0 {
			return reflect.Zero(t)
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(randValue(r, t.Elem()))
		return p
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return reflect.ValueOf(randTime(r))
	case t.Kind() == reflect.String:
		return reflect.ValueOf(randString(r))
	case t.Kind() == reflect.Int64:
		return reflect.ValueOf(randInt64(r))
	case t.Kind() == reflect.Bool:
		return reflect.ValueOf(r.IntN(2) == 1)
	}
	panic("randValue: unsupported type " + t.String())
}

// randRows returns n random rows of T.
func randRows[T Row](r *rand.Rand, n int) []T {
	rows := make([]T, n)
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		for j := range v.NumField() {
			v.Field(j).Set(randValue(r, v.Field(j).Type()))
		}
	}
	return rows
}

// csvNormalised returns a copy of rows with every non-nil pointer to ""
// set to nil: CSV spells both as an empty field, so it cannot tell them
// apart, and reading gives nil.
func csvNormalised[T Row](rows []T) []T {
	out := make([]T, len(rows))
	copy(out, rows)
	for i := range out {
		v := reflect.ValueOf(&out[i]).Elem()
		for j := range v.NumField() {
			f := v.Field(j)
			if f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().Kind() == reflect.String && f.Elem().String() == "" {
				f.Set(reflect.Zero(f.Type()))
			}
		}
	}
	return out
}

// writeRows writes rows in format f to a new file under dir and returns its
// path and contents.
func writeRows[T Row](t *testing.T, f Format, dir, name string, rows []T) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter[T](f, &buf)
	if err != nil {
		t.Fatalf("NewWriter(%s): %v", f, err)
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatalf("%s: Write row %d: %v", f, i+1, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("%s: Close: %v", f, err)
	}
	path := filepath.Join(dir, name+"."+string(f))
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, buf.Bytes()
}

// readRows reads every row of the file at path.
func readRows[T Row](t *testing.T, f Format, path string) []T {
	t.Helper()
	var got []T
	err := ReadRows(f, path, func(row *T) error {
		got = append(got, *row)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadRows(%s): %v", f, err)
	}
	return got
}

// roundTrip checks that random rows of T come back as written in every
// format, for several row counts (0 included: an empty table).
func roundTrip[T Row](t *testing.T, name string, seed uint64) {
	for _, f := range Formats {
		t.Run(name+"/"+string(f), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(seed, uint64(len(f))))
			for _, n := range []int{0, 1, 300, parquetBatch + 7} {
				rows := randRows[T](r, n)
				path, _ := writeRows(t, f, t.TempDir(), name, rows)
				want := rows
				if f == FormatCSV {
					want = csvNormalised(rows)
				}
				got := readRows[T](t, f, path)
				if len(got) != len(want) {
					t.Fatalf("%d rows: read %d rows back", n, len(got))
				}
				for i := range want {
					if !reflect.DeepEqual(got[i], want[i]) {
						t.Fatalf("%d rows: row %d differs:\n got %+v\nwant %+v", n, i+1, got[i], want[i])
					}
				}
			}
		})
	}
}

// TestFormatsRoundTrip is the property test: random rows of each type,
// written and read back in each format, are what was written.
func TestFormatsRoundTrip(t *testing.T) {
	t.Parallel()
	roundTrip[EventRow](t, "events", 1)
	roundTrip[SendRow](t, "sends", 2)
	roundTrip[InstanceRow](t, "instances", 3)
}

// deterministic checks that writing the same rows twice gives the same
// bytes in every format.
func deterministic[T Row](t *testing.T, name string, seed uint64) {
	for _, f := range Formats {
		t.Run(name+"/"+string(f), func(t *testing.T) {
			t.Parallel()
			rows := randRows[T](rand.New(rand.NewPCG(seed, 0)), 500)
			dir := t.TempDir()
			_, a := writeRows(t, f, dir, name+"-a", rows)
			_, b := writeRows(t, f, dir, name+"-b", rows)
			if !bytes.Equal(a, b) {
				t.Fatalf("two writes of the same rows differ (%d vs %d bytes)", len(a), len(b))
			}
		})
	}
}

// TestFormatsDeterministic checks byte-identical output for every format.
func TestFormatsDeterministic(t *testing.T) {
	t.Parallel()
	deterministic[EventRow](t, "events", 11)
	deterministic[SendRow](t, "sends", 12)
	deterministic[InstanceRow](t, "instances", 13)
}

// ptr returns a pointer to v.
func ptr[V any](v V) *V { return &v }

// TestJSONLExactLine pins the JSONL spelling of one event, written by hand
// from the format's rules: column order, null for nil, UTC with six
// fractional digits, no HTML escaping, compact.
func TestJSONLExactLine(t *testing.T) {
	t.Parallel()
	cst := time.FixedZone("CST", 8*3600)
	row := EventRow{
		ChainPosition: 42, Account: "acct-1", Region: "cn-hangzhou", Source: "ecs",
		TargetID: -7, InvokeID: "t-123", InstanceID: nil, Seq: 3, Type: "status",
		FromStatus: ptr("Running"), ToStatus: ptr(`<done> & "ok"`),
		OccurredAt: time.Date(2026, 3, 1, 17, 0, 3, 500000000, cst),
		RecordedAt: time.Date(2026, 3, 1, 9, 0, 4, 0, time.UTC),
		Evidence:   "line1\nline2\té\x01", RunID: ptr(int64(9)), Detail: nil,
		Payload: `{"a":1}`, PrevHash: "00ab", Hash: "ff01",
	}
	want := `{"chain_position":42,"account":"acct-1","region":"cn-hangzhou","source":"ecs",` +
		`"target_id":-7,"invoke_id":"t-123","instance_id":null,"seq":3,"type":"status",` +
		`"from_status":"Running","to_status":"<done> & \"ok\"",` +
		`"occurred_at":"2026-03-01T09:00:03.500000Z","recorded_at":"2026-03-01T09:00:04.000000Z",` +
		`"evidence":"line1\nline2\té\u0001","run_id":9,"detail":null,` +
		`"payload":"{\"a\":1}","prev_hash":"00ab","hash":"ff01"}` + "\n"
	var buf bytes.Buffer
	w := newJSONLWriter[EventRow](&buf)
	if err := w.Write(&row); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != want {
		t.Fatalf("line:\n got %s\nwant %s", got, want)
	}
}

// TestJSONStringMatchesEncodingJSON checks the hand-written string encoder
// against encoding/json (HTML escaping off) on random strings, invalid
// UTF-8 included, and that the result is valid JSON and valid UTF-8.
func TestJSONStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 5000 {
		s := randString(r)
		if i%3 == 0 { // random bytes, mostly invalid UTF-8
			b := make([]byte, r.IntN(12))
			for j := range b {
				b[j] = byte(r.IntN(256))
			}
			s += string(b)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		got := appendJSONString(nil, s)
		if string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Fatalf("%q: got %s, want %s", s, got, want.String())
		}
		if !json.Valid(got) {
			t.Fatalf("%q: invalid JSON %s", s, got)
		}
	}
}

// TestCSVHeaderAndNulls checks the header row and that a nil pointer is an
// empty field, against a hand-written file.
func TestCSVHeaderAndNulls(t *testing.T) {
	t.Parallel()
	row := SendRow{
		Account: "a", Region: "r", Source: "s", InvokeID: "i",
		Description: ptr(`x, "y"`), Overwrite: ptr(true),
		CreationTime: ptr(time.Date(2026, 3, 1, 9, 0, 3, 500000000, time.UTC)), Tags: "[]",
	}
	want := "account,region,source,invoke_id,name,description,target_dir,file_owner,file_group," +
		"file_mode,overwrite,content_type,content_sha256,creation_time,tags,status,reported_status,expired_at\n" +
		`a,r,s,i,,"x, ""y""",,,,,true,,,2026-03-01T09:00:03.500000Z,[],,,` + "\n"
	var buf bytes.Buffer
	w, err := newCSVWriter[SendRow](&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&row); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != want {
		t.Fatalf("file:\n got %q\nwant %q", got, want)
	}
}

// TestParquetSchema checks the typed columns of a written file and that a
// small file is one row group.
func TestParquetSchema(t *testing.T) {
	t.Parallel()
	rows := randRows[EventRow](rand.New(rand.NewPCG(5, 5)), 3)
	_, data := writeRows(t, FormatParquet, t.TempDir(), "events", rows)
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pf.RowGroups()); n != 1 {
		t.Errorf("%d row groups, want 1", n)
	}
	if got := pf.Metadata().CreatedBy; !strings.HasPrefix(got, "sendfile-archive version export/1") {
		t.Errorf("created_by = %q", got)
	}
	fields := map[string]parquet.Field{}
	var names []string
	for _, f := range pf.Schema().Fields() {
		fields[f.Name()] = f
		names = append(names, f.Name())
	}
	if want := planOf[EventRow]().names(); !reflect.DeepEqual(names, want) {
		t.Fatalf("columns %v, want %v", names, want)
	}
	for _, name := range []string{"occurred_at", "recorded_at"} {
		f := fields[name]
		ts, _ := f.Type().LogicalType().Value.(*format.TimestampType)
		_, micros := func() (any, bool) {
			if ts == nil {
				return nil, false
			}
			m, ok := ts.Unit.Value.(*format.MicroSeconds)
			return m, ok
		}()
		if f.Type().Kind() != parquet.Int64 || ts == nil || !ts.IsAdjustedToUTC || !micros || f.Optional() {
			t.Errorf("%s: %s optional=%t, want required INT64 TIMESTAMP(MICROS, UTC)", name, f.Type(), f.Optional())
		}
	}
	for _, name := range []string{"seq", "target_id", "chain_position"} {
		if f := fields[name]; f.Type().Kind() != parquet.Int64 || f.Optional() {
			t.Errorf("%s: %s optional=%t, want required INT64", name, f.Type(), f.Optional())
		}
	}
	if f := fields["instance_id"]; !f.Optional() || f.Type().Kind() != parquet.ByteArray {
		t.Errorf("instance_id: %s optional=%t, want optional string", f.Type(), f.Optional())
	}
}

// TestReadErrors checks that damaged or foreign files give errors that name
// the file, row and column, and do not panic.
func TestReadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rows := randRows[InstanceRow](rand.New(rand.NewPCG(9, 9)), 2000)
	_, jsonl := writeRows(t, FormatJSONL, dir, "instances", rows)
	_, csvData := writeRows(t, FormatCSV, dir, "instances", rows)
	header := "account,region,source,invoke_id,instance_id,status,since,error_code,error_info"
	_, pq := writeRows(t, FormatParquet, dir, "instances", rows)
	corrupted := bytes.Clone(pq)
	corrupted[len(corrupted)/3] ^= 0xff // a page byte: the page checksum catches it

	lines := strings.SplitAfter(string(jsonl), "\n")
	unknownKey := strings.Join(lines[:2], "") + strings.Replace(lines[2], `{"account"`, `{"extra":1,"account"`, 1)
	// Hand-written lines: everything but the one defect is well formed.
	good := `{"account":"a","region":"r","source":"s","invoke_id":"i","instance_id":"n","status":"st",` +
		`"since":"2026-03-01T09:00:03.500000Z","error_code":null,"error_info":"x"}` + "\n"
	missingKey := good + strings.Replace(good, `"status":"st",`, ``, 1)
	wrongType := good + good + strings.Replace(good, `"since":"2026-03-01T09:00:03.500000Z"`, `"since":1`, 1)
	badTime := strings.Replace(good, `.500000Z"`, `.5Z"`, 1)
	nullString := strings.Replace(good, `"status":"st"`, `"status":null`, 1)
	duplicate := strings.Replace(good, `"error_info":"x"`, `"error_info":"x","region":"r"`, 1)
	cases := []struct {
		name, file string
		data       []byte
		f          Format
		want       []string // substrings of the error
	}{
		{"jsonl unknown key", "instances.jsonl", []byte(unknownKey), FormatJSONL, []string{"instances.jsonl row 3", `unknown column "extra"`}},
		{"jsonl missing key", "instances.jsonl", []byte(missingKey), FormatJSONL, []string{"row 2", "column status: missing"}},
		{"jsonl wrong type", "instances.jsonl", []byte(wrongType), FormatJSONL, []string{"row 3", "column since"}},
		{"jsonl bad time", "instances.jsonl", []byte(badTime), FormatJSONL, []string{"row 1", "column since"}},
		{"jsonl null string", "instances.jsonl", []byte(nullString), FormatJSONL, []string{"row 1", "column status"}},
		{"jsonl duplicate key", "instances.jsonl", []byte(duplicate), FormatJSONL, []string{"row 1", "column region"}},
		{"jsonl not an object", "instances.jsonl", []byte("[1,2]\n"), FormatJSONL, []string{"row 1"}},
		{"jsonl truncated", "instances.jsonl", jsonl[:len(jsonl)-1], FormatJSONL, []string{"row 2000", "newline"}},
		{"jsonl cut in half", "instances.jsonl", jsonl[:len(jsonl)/2], FormatJSONL, []string{"instances.jsonl row"}},
		{"csv wrong header", "instances.csv", bytes.Replace(csvData, []byte("invoke_id"), []byte("invoke"), 1), FormatCSV, []string{"instances.csv header", `column 4 is "invoke", want "invoke_id"`}},
		{"csv short header", "instances.csv", []byte("account,region\n"), FormatCSV, []string{"header", "column 3"}},
		{"csv truncated", "instances.csv", csvData[:len(csvData)-1], FormatCSV, []string{"instances.csv row 2000", "truncated"}},
		{"csv bad quote", "instances.csv", []byte(header + "\na,r,s,i,n,\"st\"x,2026-03-01T09:00:03.500000Z,,\n"), FormatCSV, []string{"row 1", "closing quote"}},
		{"csv field count", "instances.csv", []byte(header + "\na,r\n"), FormatCSV, []string{"row 1", "2 fields, want 9"}},
		{"csv bad time", "instances.csv", []byte(header + "\na,r,s,i,n,st,yesterday,,\n"), FormatCSV, []string{"row 1", "column since"}},
		{"parquet truncated", "instances.parquet", pq[:len(pq)-100], FormatParquet, []string{"instances.parquet"}},
		{"parquet cut in half", "instances.parquet", pq[:len(pq)/2], FormatParquet, []string{"instances.parquet"}},
		{"parquet corrupted page", "instances.parquet", corrupted, FormatParquet, []string{"instances.parquet row 1"}},
		{"parquet empty", "instances.parquet", nil, FormatParquet, []string{"instances.parquet"}},
		{"parquet wrong type", "instances.parquet", nil, FormatParquet, []string{"column"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sub := t.TempDir()
			path := filepath.Join(sub, c.file)
			if c.name == "parquet wrong type" {
				// A file of SendRow columns read as InstanceRow.
				path, _ = writeRows(t, FormatParquet, sub, "instances", randRows[SendRow](rand.New(rand.NewPCG(1, 1)), 3))
			} else if err := os.WriteFile(path, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			err := ReadRows(c.f, path, func(*InstanceRow) error { return nil })
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestReadCallbackError checks that an error from fn stops reading and is
// wrapped with the row number.
func TestReadCallbackError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rows := randRows[SendRow](rand.New(rand.NewPCG(4, 4)), 10)
	stop := fmt.Errorf("stop")
	for _, f := range Formats {
		path, _ := writeRows(t, f, dir, "sends", rows)
		n := 0
		err := ReadRows(f, path, func(*SendRow) error {
			n++
			if n == 4 {
				return stop
			}
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "sends."+string(f)+" row 4") || n != 4 {
			t.Errorf("%s: err %v after %d rows, want stop at row 4", f, err, n)
		}
	}
}

// BenchmarkWrite measures each writer on random events, to io.Discard;
// the JSONL writer should report 0 allocs/op.
func BenchmarkWrite(b *testing.B) {
	rows := randRows[EventRow](rand.New(rand.NewPCG(3, 3)), 4096)
	for _, f := range Formats {
		b.Run(string(f), func(b *testing.B) {
			w, err := NewWriter[EventRow](f, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := w.Write(&rows[i%len(rows)]); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// TestAppendTextTime checks the hand-written time spelling against
// time.Format with the layout, in several zones, and its year bounds.
func TestAppendTextTime(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(8, 8))
	zones := []*time.Location{time.UTC, time.FixedZone("E", 14*3600), time.FixedZone("W", -12*3600-1800)}
	lo := time.Date(0, 1, 1, 12, 0, 0, 0, time.UTC).UnixMicro()
	hi := time.Date(9999, 12, 31, 11, 59, 59, 999999999, time.UTC).UnixMicro()
	for range 20000 {
		tm := time.UnixMicro(lo + r.Int64N(hi-lo)).Add(time.Duration(r.IntN(1000))).In(zones[r.IntN(len(zones))])
		got, err := appendTextTime(nil, tm)
		if want := tm.UTC().Format(timeLayout); err != nil || string(got) != want {
			t.Fatalf("%v: got %q, %v; want %q", tm, got, err, want)
		}
	}
	for _, tm := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC)} {
		if _, err := appendTextTime(nil, tm); err == nil {
			t.Errorf("%v: no error", tm)
		}
	}
}

// closeSpy is an io.WriteCloser that records whether it was closed.
type closeSpy struct {
	bytes.Buffer
	closed bool
}

// Close records the call.
func (c *closeSpy) Close() error {
	c.closed = true
	return nil
}

// TestCloseLeavesWriterOpen checks that RowWriter.Close finishes the file
// but leaves the underlying writer open (the caller owns it).
func TestCloseLeavesWriterOpen(t *testing.T) {
	t.Parallel()
	for _, f := range Formats {
		var spy closeSpy
		w, err := NewWriter[InstanceRow](f, &spy)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(&InstanceRow{Since: time.Unix(0, 0).UTC()}); err != nil {
			t.Fatalf("%s: Write: %v", f, err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("%s: Close: %v", f, err)
		}
		if spy.closed || spy.Len() == 0 {
			t.Errorf("%s: closed=%t, %d bytes written; want open and a finished file", f, spy.closed, spy.Len())
		}
	}
}
