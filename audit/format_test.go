package audit

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

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
	roundTrip[ContentRow](t, "contents", 4)
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
		"file_mode,overwrite,content_type,content_sha256,creation_time,tags,status,reported_status,expired_at," +
		"command_id,parameters,repeat_mode,frequency,timeout,username,working_dir\n" +
		`a,r,s,i,,"x, ""y""",,,,,true,,,2026-03-01T09:00:03.500000Z,[],,,,,,,,,,` + "\n"
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
		{"jsonl bad escape", "instances.jsonl", []byte(good + strings.Replace(good, `"st"`, `"s\x"`, 1)), FormatJSONL, []string{"row 2", "column status: bad JSON"}},
		{"jsonl invalid UTF-8", "instances.jsonl", []byte(strings.Replace(good, `"st"`, "\"s\xff\"", 1)), FormatJSONL, []string{"row 1", "UTF-8"}},
		{"jsonl trailing garbage", "instances.jsonl", []byte(strings.Replace(good, "}\n", "} x\n", 1)), FormatJSONL, []string{"row 1", "data after"}},
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

// wildPieces add to stringPieces what only a writer's edge cases care
// about: Unicode spaces (encoding/csv quotes a field starting with one),
// runes that look like spaces but are not, and invalid UTF-8.
var wildPieces = []string{
	"\u00a0", "\u0085", "\v", "\f", "\u3000", "\u1680", "\u2000", "\u200a", "\u202f",
	"\u205f", "\u180e", "\ufeff", "\u200b", " ", "\xff", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	`\u0041`, `\ud83d\ude00`, "\"\"", "a\r\nb", `\`, "\x1b[0m",
}

// wildString returns a string, often invalid UTF-8, built from the pieces
// every writer must spell exactly, sometimes with random bytes.
func wildString(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(6) {
		if r.IntN(2) == 0 {
			b.WriteString(wildPieces[r.IntN(len(wildPieces))])
		} else {
			b.WriteString(stringPieces[r.IntN(len(stringPieces))])
		}
	}
	if r.IntN(8) == 0 {
		for range r.IntN(6) {
			b.WriteByte(byte(r.IntN(256)))
		}
	}
	return b.String()
}

// wildRows returns n rows of T like randRows, but with wild strings and
// times in any zone with nanoseconds, which writers must normalise.
func wildRows[T Row](r *rand.Rand, n int) []T {
	zones := []*time.Location{time.UTC, time.FixedZone("E", 14*3600), time.FixedZone("W", -9*3600-1800)}
	rows := randRows[T](r, n)
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		for j := range v.NumField() {
			f := v.Field(j)
			if f.Kind() == reflect.Pointer {
				if f.IsNil() {
					continue
				}
				f = f.Elem()
			}
			switch x := f.Addr().Interface().(type) {
			case *string:
				*x = wildString(r)
			case *time.Time:
				*x = x.Add(time.Duration(r.IntN(1000))).In(zones[r.IntN(len(zones))])
			}
		}
	}
	return rows
}

// refJSONLLine spells row as a JSONL line with encoding/json, independently
// of the writer: each value on its own, HTML escaping off, times with
// time.Format. It is what the writer's output must equal byte for byte.
func refJSONLLine[T Row](t *testing.T, row *T) []byte {
	t.Helper()
	var out bytes.Buffer
	v := reflect.ValueOf(row).Elem()
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("parquet"), ",")
		out.WriteString(map[bool]string{true: "{", false: ","}[i == 0])
		var val any
		switch f := v.Field(i).Interface().(type) {
		case time.Time:
			val = f.UTC().Format(timeLayout)
		case *time.Time:
			if f != nil {
				val = f.UTC().Format(timeLayout)
			}
		default:
			val = f
		}
		for _, x := range []any{name, val} {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(x); err != nil {
				t.Fatal(err)
			}
			out.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
			if x != val {
				out.WriteByte(':')
			}
		}
	}
	out.WriteString("}\n")
	return out.Bytes()
}

// refCSVFile spells rows as a CSV file with encoding/csv's Writer, which
// wrote these files before the hand-written writer: what the writer's
// output must equal byte for byte.
func refCSVFile[T Row](t *testing.T, rows []T) []byte {
	t.Helper()
	var out bytes.Buffer
	cw := csv.NewWriter(&out)
	if err := cw.Write(planOf[T]().names()); err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		record := make([]string, v.NumField())
		for j := range record {
			f := v.Field(j)
			if f.Kind() == reflect.Pointer {
				if f.IsNil() {
					continue
				}
				f = f.Elem()
			}
			switch x := f.Interface().(type) {
			case time.Time:
				record[j] = x.UTC().Format(timeLayout)
			case string:
				record[j] = string([]rune(x)) // each invalid UTF-8 byte becomes U+FFFD
			default:
				record[j] = fmt.Sprint(x)
			}
		}
		if err := cw.Write(record); err != nil {
			t.Fatal(err)
		}
	}
	cw.Flush()
	return out.Bytes()
}

// writersMatchReference checks the JSONL and CSV writers against the
// reference spellings on wild and random rows of T.
func writersMatchReference[T Row](t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 17))
	rows := append(wildRows[T](r, 3000), randRows[T](r, 1000)...)
	dir := t.TempDir()
	_, got := writeRows(t, FormatCSV, dir, "rows", rows)
	if want := refCSVFile(t, rows); !bytes.Equal(got, want) {
		gl, wl := strings.SplitAfter(string(got), "\n"), strings.SplitAfter(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("csv differs from encoding/csv at line %d:\n got %q\nwant %q", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("csv differs from encoding/csv: %d vs %d bytes", len(got), len(want))
	}
	_, got = writeRows(t, FormatJSONL, dir, "rows", rows)
	lines := bytes.SplitAfter(got, []byte("\n"))
	for i := range rows {
		if want := refJSONLLine(t, &rows[i]); !bytes.Equal(lines[i], want) {
			t.Fatalf("jsonl row %d differs from encoding/json:\n got %s\nwant %s", i+1, lines[i], want)
		}
	}
}

// TestFormatWritersMatchReference proves the hand-written text writers produce
// the bytes encoding/csv and encoding/json would, for every row type.
func TestFormatWritersMatchReference(t *testing.T) {
	t.Parallel()
	writersMatchReference[EventRow](t, 1)
	writersMatchReference[SendRow](t, 2)
	writersMatchReference[InstanceRow](t, 3)
	writersMatchReference[ContentRow](t, 4)
}

// TestCSVNeedsQuotes checks the quoting rule against encoding/csv on every
// rune at the start of a field, and on the special cases.
func TestCSVNeedsQuotes(t *testing.T) {
	t.Parallel()
	quoted := func(s string) bool {
		var b bytes.Buffer
		cw := csv.NewWriter(&b)
		if err := cw.Write([]string{s}); err != nil {
			t.Fatal(err)
		}
		cw.Flush()
		return strings.HasPrefix(b.String(), `"`)
	}
	cases := []string{"", `\.`, `\.x`, `x\.`, ".", `\`, "a,b", `a"b`, "a\rb", "a\nb", "ab", "a b", "a\tb"}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r < 0x3100 || unicode.IsSpace(r) || r%997 == 0 {
			cases = append(cases, string(r)+"x", string(r))
		}
	}
	for _, s := range cases {
		if got, want := csvNeedsQuotes(s), quoted(s); got != want {
			t.Errorf("csvNeedsQuotes(%q) = %t, encoding/csv quotes: %t", s, got, want)
		}
	}
}

// TestFormatsLongRow round-trips a row longer than the readers' buffers,
// with quotes, escapes and line ends throughout, in every format.
func TestFormatsLongRow(t *testing.T) {
	t.Parallel()
	long := strings.Repeat(`{"k":"v\n",`+"\r\n"+`"é😀\u2028":[1,"\\"]}, `, 40000) // ~1 MB
	rows := randRows[EventRow](rand.New(rand.NewPCG(6, 6)), 3)
	short := long[:jsonlBufferSize-7] // a line of about the buffer's size
	for !utf8.ValidString(short) {
		short = short[:len(short)-1]
	}
	rows[1].Payload, rows[1].Detail, rows[2].Evidence = long, &long, short
	for _, f := range Formats {
		path, _ := writeRows(t, f, t.TempDir(), "events", rows)
		want := rows
		if f == FormatCSV {
			want = csvNormalised(rows)
		}
		if got := readRows[EventRow](t, f, path); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: rows differ after a round trip", f)
		}
	}
}

// TestParquetFarTimes checks that times far from today read back exactly:
// parquet-go's own reconstruction multiplies microseconds into int64
// nanoseconds, which overflows outside years 1678-2262.
func TestParquetFarTimes(t *testing.T) {
	t.Parallel()
	far := []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1500, 6, 1, 12, 0, 0, 123456000, time.UTC),
		time.Date(2500, 1, 1, 0, 0, 0, 1000, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
	}
	rows := make([]InstanceRow, len(far))
	for i, tm := range far {
		rows[i] = InstanceRow{Account: "a", Since: tm}
	}
	path, _ := writeRows(t, FormatParquet, t.TempDir(), "instances", rows)
	if got := readRows[InstanceRow](t, FormatParquet, path); !reflect.DeepEqual(got, rows) {
		t.Errorf("got %v, want %v", got, rows)
	}
}

// refDecodeJSONL is the encoding/json-based line decoder the hand-written
// parser replaced, kept as the reference for what a line means and which
// lines are rejected.
func refDecodeJSONL(p *rowPlan, line []byte, v reflect.Value) error {
	if !utf8.Valid(line) {
		return errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := make([]bool, len(p.columns))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		i, ok := p.byName[key]
		if !ok || seen[i] {
			return errors.New("unknown or repeated column")
		}
		seen[i] = true
		if tok, err = dec.Token(); err != nil {
			return err
		}
		if err := refSetJSON(p.columns[i].kind, v.Field(p.columns[i].index), tok); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the object")
	}
	if slices.Contains(seen[:p.first], false) {
		return errors.New("missing column")
	}
	return nil
}

// refSetJSON stores one scalar token in a field of the given kind.
func refSetJSON(kind fieldKind, f reflect.Value, tok json.Token) error {
	if tok == nil {
		if !kind.nullable() {
			return errors.New("null")
		}
		return nil
	}
	var val any
	switch x := tok.(type) {
	case string:
		val = x
		if kind.base() == kindTime {
			t, err := time.Parse(timeLayout, x)
			val = t
			if err != nil {
				return err
			}
		}
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 64)
		if err != nil {
			return err
		}
		val = n
	case bool:
		val = x
	default:
		return errors.New("not a scalar")
	}
	rv := reflect.ValueOf(val)
	if f.Kind() == reflect.Pointer {
		p := reflect.New(f.Type().Elem())
		f.Set(p)
		f = p.Elem()
	}
	if rv.Type() != f.Type() {
		return errors.New("wrong type")
	}
	f.Set(rv)
	return nil
}

// checkJSONLLine decodes line with the parser and the reference decoder and
// fails unless both reject it or both accept it with the same row, or if
// the line is good but rejected.
func checkJSONLLine[T Row](t *testing.T, p *jsonlParser, line []byte, good bool) {
	t.Helper()
	var got, want T
	gotErr := p.decode(line, reflect.ValueOf(&got).Elem())
	wantErr := refDecodeJSONL(p.plan, line, reflect.ValueOf(&want).Elem())
	switch {
	case good && gotErr != nil:
		t.Fatalf("line %q: %v", line, gotErr)
	case (gotErr == nil) != (wantErr == nil):
		t.Fatalf("line %q: parser says %v, encoding/json says %v", line, gotErr, wantErr)
	case gotErr == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("line %q:\n got %+v\nwant %+v", line, got, want)
	}
}

// jsonMutations are edits that turn a good line into a near miss.
var jsonMutations = []func(r *rand.Rand, line []byte) []byte{
	func(r *rand.Rand, l []byte) []byte { // change a byte
		l[r.IntN(len(l))] = `{}[]":, \0u19aeE+-.ntfrl"\`[r.IntN(26)]
		return l
	},
	func(r *rand.Rand, l []byte) []byte { // drop a byte
		i := r.IntN(len(l))
		return append(l[:i], l[i+1:]...)
	},
	func(r *rand.Rand, l []byte) []byte { // insert a piece
		i := r.IntN(len(l) + 1)
		pieces := []string{" ", "\t", "\r", ",", `\u00e9`, `\ud83d\ude00`, `\ud800`, `\udc00\ud800`, `\/`, `\'`, "\x01", "\xff", "-0", "01", "1.5", "1e3", "null", "true", `""`, `{`, "é", `\u12G4`, `\`}
		return slices.Insert(l, i, []byte(pieces[r.IntN(len(pieces))])...)
	},
	func(r *rand.Rand, l []byte) []byte { // repeat a slice
		i := r.IntN(len(l))
		j := i + r.IntN(len(l)-i)
		return slices.Insert(l, j, l[i:j]...)
	},
}

// jsonlAgreesWithReference checks the parser against encoding/json on good
// lines, lines with each key spelled with escapes, and mutated lines.
func jsonlAgreesWithReference[T Row](t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 23))
	p := newJSONLParser(planOf[T]())
	rows := append(wildRows[T](r, 300), randRows[T](r, 300)...)
	for i := range rows {
		var buf bytes.Buffer
		w := newJSONLWriter[T](&buf)
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		line := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		checkJSONLLine[T](t, p, line, true)
		// The same line with "_" escaped (in keys too: no fast path) and
		// with whitespace around the structure (and a few values).
		escaped := bytes.ReplaceAll(line, []byte(`_`), []byte(`\u005f`))
		checkJSONLLine[T](t, p, escaped, true)
		spaced := bytes.ReplaceAll(bytes.ReplaceAll(escaped, []byte(`,"`), []byte(" ,\t\"")), []byte(`":`), []byte("\" :\r"))
		checkJSONLLine[T](t, p, spaced, false)
		for range 40 {
			mutated := bytes.Clone(line)
			for range 1 + r.IntN(2) {
				mutated = jsonMutations[r.IntN(len(jsonMutations))](r, mutated)
			}
			checkJSONLLine[T](t, p, mutated, false)
		}
	}
}

// TestJSONLParserMatchesEncodingJSON is the differential test of the JSONL
// parser: it accepts exactly the lines encoding/json's Decoder accepted,
// with the same values.
func TestJSONLParserMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	jsonlAgreesWithReference[EventRow](t, 1)
	jsonlAgreesWithReference[SendRow](t, 2)
	jsonlAgreesWithReference[InstanceRow](t, 3)
	jsonlAgreesWithReference[ContentRow](t, 4)
	p := newJSONLParser(planOf[ContentRow]())
	for _, line := range []string{
		``, `{}`, `[]`, ` {"sha256":"a","bytes":1,"content":"b"} `, `{"sha256":"a","bytes":1,"content":"b"}x`,
		`{"sha256":"a","bytes":1,"content":"b",}`, `{"sha256":"a","bytes":1,"content":"b"}{}`,
		`{"sha256":"a","bytes":-0,"content":"\ud83d\ude00\ud83d\ud83d\ude00\ude00\u00E9\/\b\f\n\r\t\"\\"}`,
		`{"sha256":"a","bytes":9223372036854775807,"content":""}`, `{"sha256":"a","bytes":-9223372036854775808,"content":""}`,
		`{"sha256":"a","bytes":9223372036854775808,"content":""}`, `{"sha256":"a","bytes":-9223372036854775809,"content":""}`,
		`{"sha256":"a","bytes":12345678901234567890123,"content":""}`, `{"sha256":"a","bytes":1.0,"content":""}`,
		`{"sha256":"a","bytes":1e2,"content":""}`, `{"sha256":"a","bytes":01,"content":""}`, `{"sha256":"a","bytes":-,"content":""}`,
		`{"sha256":"a","bytes":1,"content":"\ud800"}`, `{"sha256":"a","bytes":1,"content":"\ud800\u0041"}`,
		`{"sha256":"a","bytes":1,"content":"\ud800\"}`, `{"sha256":"a","bytes":1,"content":"\'"}`,
		`{"sha256":"a","bytes":1,"content":"` + "\x7f\u2028" + `"}`, `{"sha256":"a","bytes":1,"content":"` + "\t" + `"}`,
		`{"sha256":"a","bytes":1,"content":nul}`, `{"sha256":"a","bytes":1,"content":null}`, `{"sha256":"a","bytes":true,"content":"b"}`,
		`{"sha256":"a","bytes":1,"content":{}}`, `{"sha256":"a","bytes":1,"content":[]}`, `{"sha256":"a" "bytes":1,"content":"b"}`,
		`{"sha256":"a","bytes":1,"content":"b"` + "\r",
	} {
		checkJSONLLine[ContentRow](t, p, []byte(line), false)
	}
}

// TestFormatParseTextTime checks the hand-parsed spelling against time.Parse on
// good times and near misses: the same instant, or an error from both.
func TestFormatParseTextTime(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(10, 10))
	lo := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()
	cases := []string{"2024-02-29T00:00:00.000000Z", "2023-02-29T00:00:00.000000Z", "2026-04-31T00:00:00.000000Z",
		"2026-13-01T00:00:00.000000Z", "2026-00-10T00:00:00.000000Z", "2026-01-00T00:00:00.000000Z",
		"2026-01-01T24:00:00.000000Z", "2026-01-01T23:60:00.000000Z", "2026-01-01T23:59:60.000000Z",
		"2026-01-01T9:00:00.0000000Z", "2026-01-01T09:00:00,000000Z", "2026-01-01T09:00:00.+00000Z", ""}
	for range 20000 {
		s := []byte(time.UnixMicro(lo + r.Int64N(hi-lo)).UTC().Format(timeLayout))
		cases = append(cases, string(s))
		s[r.IntN(len(s))] = "0123456789-T:.Z +,/:"[r.IntN(20)]
		cases = append(cases, string(s))
	}
	for _, s := range cases {
		got, gotErr := parseTextTime(s)
		gotB, _ := parseTextTime([]byte(s))
		want, wantErr := time.Parse(timeLayout, s)
		if (gotErr == nil) != (wantErr == nil) || got != want || gotB != want {
			t.Fatalf("%q: got %v, %v; want %v, %v", s, got, gotErr, want, wantErr)
		}
	}
}

// TestJSONSpecialBytes checks the word-at-a-time test against the byte
// table, on every byte value in every position among other bytes.
func TestJSONSpecialBytes(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(12, 12))
	for range 200000 {
		var w [8]byte
		for i := range w {
			w[i] = byte(r.IntN(256))
			if r.IntN(4) != 0 { // mostly plain, so one special byte stands out
				w[i] = byte(0x20 + r.IntN(0x60))
				if w[i] == '"' || w[i] == '\\' {
					w[i] = 'a'
				}
			}
		}
		first := 8
		for i, b := range w {
			if b < 0x20 || b == '"' || b == '\\' {
				first = i
				break
			}
		}
		got, tail := jsonPlainRun(w[:]), jsonPlainRun(w[:7]) // a word; bytes one by one
		if m := jsonSpecialBytes(load64(string(w[:]))); got != first || tail != min(first, 7) || (m == 0) != (first == 8) {
			t.Fatalf("%q: plain run %d (%d of 7), mask %x; want %d", w, got, tail, m, first)
		}
	}
}

// refCSVReader is the byte-at-a-time CSV record reader the chunked one
// replaced, kept as the reference for what a file means and which files
// are rejected, with which message.
type refCSVReader struct {
	br   *bufio.Reader
	buf  []byte // the current record's field bytes, concatenated
	ends []int  // end offset of each field in buf
}

// readRecord returns the next record, or io.EOF at the end of the input.
func (r *refCSVReader) readRecord() ([]string, error) {
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
func (r *refCSVReader) fields() []string {
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
func (r *refCSVReader) unquotedField(b byte) (byte, error) {
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
func (r *refCSVReader) quotedField() (byte, error) {
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

// TestCSVReaderMatchesReference is the differential test of the chunked CSV
// reader: on random near-CSV input, with buffers small enough that fields
// and line ends straddle them, it returns the records and errors the
// byte-at-a-time reader returned.
func TestCSVReaderMatchesReference(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(14, 14))
	pieces := []string{"a", "bc", "é", ",", ",", "\n", "\n", "\r\n", "\r", `"`, `""`, `"x"`, `"a,b"`, "\"\n\"", "\"\r\n\"", "\"\r\"", `" "`, "defghijklmnopqrstuvwxyz0123456789"}
	for range 20000 {
		var b strings.Builder
		for range r.IntN(30) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		in := b.String()
		if r.IntN(3) == 0 {
			in = strings.ReplaceAll(in, "\n\n", "\n") + "\n"
		}
		ref := &refCSVReader{br: bufio.NewReaderSize(strings.NewReader(in), 16)}
		got := &csvReader{br: bufio.NewReaderSize(strings.NewReader(in), 16+r.IntN(8))}
		for n := 1; ; n++ {
			want, wantErr := ref.readRecord()
			record, err := got.readRecord()
			if fmt.Sprint(err) != fmt.Sprint(wantErr) || !slices.Equal(record, want) {
				t.Fatalf("%q record %d: got %q, %v; want %q, %v", in, n, record, err, want, wantErr)
			}
			if err != nil {
				break
			}
		}
	}
}

// FuzzJSONLRead round-trips an arbitrary string through every string
// column of a JSONL line (the line must be encoding/json's spelling and read
// back as the string, invalid UTF-8 replaced), and feeds arbitrary bytes to
// the parser as a line: it must not panic, and must accept exactly what
// encoding/json's Decoder accepted, with the same values.
func FuzzJSONLRead(f *testing.F) {
	f.Add("plain", []byte(`{"account":"a","region":"r","source":"s","invoke_id":"i","instance_id":"n","status":"st","since":"2026-03-01T09:00:03.500000Z","error_code":null,"error_info":"x"}`))
	f.Add("\"\\\x00\x1f\x7f\u2028\ud7ff\xff<>&é😀", []byte(`{"account":"\ud83d\ude00\ud800\u00e9\/","region":1}`))
	f.Add(`\u0041\ud800`, []byte(`{"error_code":null,"since":"2026-03-01T09:00:03.500000Z" , "account":"a"}x`))
	f.Add("", []byte(""))
	p := newJSONLParser(planOf[InstanceRow]())
	f.Fuzz(func(t *testing.T, s string, line []byte) {
		row := InstanceRow{Account: s, Region: s, Source: s, InvokeID: s, InstanceID: s, Status: s,
			Since: time.Unix(0, 0).UTC(), ErrorCode: &s, ErrorInfo: &s}
		var buf bytes.Buffer
		w := newJSONLWriter[InstanceRow](&buf)
		if err := w.Write(&row); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if want := refJSONLLine(t, &row); !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("%q: wrote %s, encoding/json spells %s", s, buf.Bytes(), want)
		}
		var got InstanceRow
		if err := p.decode(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), reflect.ValueOf(&got).Elem()); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if v := validUTF8(s); got.Account != v || got.InvokeID != v || *got.ErrorInfo != v {
			t.Fatalf("%q: read back %q", s, got.Account)
		}
		checkJSONLLine[InstanceRow](t, p, line, false)
	})
}

// instanceRowV1 is InstanceRow as exports wrote it before the command
// columns were added.
type instanceRowV1 struct {
	Account    string    `parquet:"account"`
	Region     string    `parquet:"region"`
	Source     string    `parquet:"source"`
	InvokeID   string    `parquet:"invoke_id"`
	InstanceID string    `parquet:"instance_id"`
	Status     string    `parquet:"status"`
	Since      time.Time `parquet:"since,timestamp(microsecond)"`
	ErrorCode  *string   `parquet:"error_code,optional"`
	ErrorInfo  *string   `parquet:"error_info,optional"`
}

// Files written before columns were added (layout:"added") still read, in
// every format, with the added columns null; a file with only some of
// them is refused.
func TestEarlierLayoutReads(t *testing.T) {
	t.Parallel()
	rows := randRows[InstanceRow](rand.New(rand.NewPCG(3, 4)), 50)
	old := make([]instanceRowV1, len(rows))
	for i := range rows {
		r := &rows[i]
		r.Repeats, r.ExitCode, r.OutputSHA256, r.Dropped = nil, nil, nil, nil
		old[i] = instanceRowV1{r.Account, r.Region, r.Source, r.InvokeID, r.InstanceID, r.Status, r.Since, r.ErrorCode,
			r.ErrorInfo}
	}
	dir := t.TempDir()
	jsonlPath, jsonl := writeRows(t, FormatJSONL, dir, "instances", rows)
	csvPath, csvData := writeRows(t, FormatCSV, dir, "instances", rows)
	// What each format reads back of the rows in today's layout (CSV
	// cannot tell an empty string from a null).
	want := map[Format][]InstanceRow{FormatJSONL: readRows[InstanceRow](t, FormatJSONL, jsonlPath),
		FormatCSV: readRows[InstanceRow](t, FormatCSV, csvPath), FormatParquet: rows}
	added := `,"repeats":null,"exit_code":null,"output_sha256":null,"dropped":null}`
	if !bytes.Contains(jsonl, []byte(added)) {
		t.Fatalf("the JSONL writer does not end rows with %s", added)
	}
	files := map[Format][]byte{
		FormatJSONL: bytes.ReplaceAll(jsonl, []byte(added), []byte("}")),
		FormatCSV: bytes.ReplaceAll(bytes.Replace(csvData, []byte(",repeats,exit_code,output_sha256,dropped\n"), []byte("\n"), 1),
			[]byte(",,,,\n"), []byte("\n")),
	}
	var pq bytes.Buffer
	w := parquet.NewGenericWriter[instanceRowV1](&pq)
	if _, err := w.Write(old); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files[FormatParquet] = pq.Bytes()
	for f, data := range files {
		path := filepath.Join(t.TempDir(), "instances."+string(f))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if got := readRows[InstanceRow](t, f, path); !reflect.DeepEqual(got, want[f]) {
			t.Errorf("%s in the earlier layout read back differently", f)
		}
	}
	partial := bytes.Replace(csvData, []byte(",output_sha256,dropped\n"), []byte("\n"), 1)
	path := filepath.Join(t.TempDir(), "instances.csv")
	if err := os.WriteFile(path, partial, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ReadRows(FormatCSV, path, func(*InstanceRow) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), `column 12: missing, want "output_sha256"`) {
		t.Errorf("a header with some of the added columns: %v", err)
	}
}
