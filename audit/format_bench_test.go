package audit

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchEvents returns n events shaped like an export's: hex hashes, JSON
// payloads and details with escaped quotes, a mix of nulls. Random rows
// (randRows) are mostly short odd strings; these are what the export's
// reading and writing spend their time on.
func benchEvents(n int) []EventRow {
	r := rand.New(rand.NewPCG(21, 21))
	hex := func() string {
		const digits = "0123456789abcdef"
		b := make([]byte, 64)
		for i := range b {
			b[i] = digits[r.IntN(16)]
		}
		return string(b)
	}
	statuses := []string{"Pending", "Running", "Success", "Failed", "Stopped"}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]EventRow, n)
	prev := hex()
	for i := range rows {
		invoke := fmt.Sprintf("t-hz%014x", r.Uint64()>>8)
		at := start.Add(time.Duration(i) * 37 * time.Millisecond).Truncate(time.Microsecond)
		e := EventRow{
			ChainPosition: int64(i + 1), Account: "1234567890123456", Region: "cn-hangzhou", Source: "ecs",
			TargetID: int64(r.IntN(50)), InvokeID: invoke, Seq: int64(r.IntN(9)), Type: "status",
			OccurredAt: at, RecordedAt: at.Add(1500 * time.Millisecond), Evidence: "DescribeInvocations",
			Payload: fmt.Sprintf(`{"InvokeId":%q,"Name":"deploy-%d.conf","TargetDir":"/etc/app","FileMode":"0644",`+
				`"Overwrite":true,"ContentType":"PlainText","Tags":[{"Key":"team","Value":"ops"}]}`, invoke, r.IntN(1000)),
			PrevHash: prev, Hash: hex(),
		}
		prev = e.Hash
		if r.IntN(4) != 0 {
			e.InstanceID = ptr(fmt.Sprintf("i-bp1%016x", r.Uint64()>>4))
			e.FromStatus = ptr(statuses[r.IntN(len(statuses))])
			e.ToStatus = ptr(statuses[r.IntN(len(statuses))])
			e.RunID = ptr(int64(r.IntN(1 << 30)))
			e.Detail = ptr(`{"ErrorCode":"","ErrorInfo":"","Output":"ok\n","ExitCode":0}`)
		}
		rows[i] = e
	}
	return rows
}

// BenchmarkRead measures each reader on a file of 100,000 export-shaped
// events and reports rows/s; one op is one row.
func BenchmarkRead(b *testing.B) {
	const n = 100_000
	rows := benchEvents(n)
	dir := b.TempDir()
	for _, f := range Formats {
		b.Run(string(f), func(b *testing.B) {
			path := filepath.Join(dir, "events."+string(f))
			out, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			w, err := NewWriter[EventRow](f, out)
			if err != nil {
				b.Fatal(err)
			}
			for i := range rows {
				if err := w.Write(&rows[i]); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			if err := out.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			read := 0
			for b.Loop() {
				if err := ReadRows(f, path, func(*EventRow) error { read++; return nil }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(read), "ns/row")
		})
	}
}

// BenchmarkWriteEvents measures each writer on export-shaped events (see
// benchEvents), to io.Discard; one op is one row.
func BenchmarkWriteEvents(b *testing.B) {
	rows := benchEvents(4096)
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
