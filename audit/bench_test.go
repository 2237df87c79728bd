package audit_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/audit"
	"github.com/cloudassistant/sendfile-archive/harness"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// benchArchive returns a large archive: the one at EXPORT_BENCH_URL when set
// (build it once, reuse it across runs), else a fresh one of about a million
// events (59 days of 1,000 sends a day), built here in a minute or two.
func benchArchive(b *testing.B) (*store.Store, string, store.Selection) {
	b.Helper()
	ctx := context.Background()
	url := os.Getenv("EXPORT_BENCH_URL")
	if url == "" {
		url = storetest.URL(b)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	var n int64
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM archive.events`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n == 0 {
		days := 59
		if v, _ := strconv.Atoi(os.Getenv("EXPORT_BENCH_DAYS")); v > 0 {
			days = v
		}
		start := time.Now()
		if _, err := harness.BuildArchive(ctx, st, 7, 1000, days); err != nil {
			b.Fatal(err)
		}
		_ = st.Pool().QueryRow(ctx, `SELECT count(*) FROM archive.events`).Scan(&n)
		b.Logf("built an archive of %d events in %s", n, time.Since(start).Round(time.Second))
	}
	var from, to time.Time
	if err := st.Pool().QueryRow(ctx, `SELECT min(occurred_at), max(occurred_at) FROM archive.events`).Scan(&from, &to); err != nil {
		b.Fatal(err)
	}
	return st, url, store.Selection{From: from, To: to.Add(time.Second)}
}

// bareCopy is the floor an export cannot beat: PostgreSQL's own COPY of the
// same event rows, in the same order, to nowhere.
func bareCopy(b *testing.B, st *store.Store, sel store.Selection) time.Duration {
	b.Helper()
	ctx := context.Background()
	conn, err := st.Pool().Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	q := fmt.Sprintf(`COPY (SELECT e.chain_position, t.account, t.region, t.source, e.target_id, e.invoke_id, e.instance_id,
		e.seq, e.type, e.from_status, e.to_status, e.occurred_at, e.recorded_at, e.evidence, e.run_id, e.detail::text,
		e.payload::text, encode(e.prev_hash, 'hex'), encode(e.hash, 'hex')
		FROM archive.events e JOIN archive.targets t ON t.id = e.target_id
		WHERE e.occurred_at >= '%s' AND e.occurred_at < '%s' ORDER BY e.target_id, e.chain_position) TO STDOUT`,
		sel.From.Format(time.RFC3339Nano), sel.To.Format(time.RFC3339Nano))
	start := time.Now()
	if _, err := conn.Conn().PgConn().CopyTo(ctx, io.Discard, q); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// BenchmarkExport measures a whole export (events, sends, instances and the
// manifest) in each format against a bare COPY of the selection's event
// rows, and verify-export of the result in events per second.
//
//	go test ./audit/ -run XXX -bench Export -benchtime 1x -timeout 60m
func BenchmarkExport(b *testing.B) {
	st, _, sel := benchArchive(b)
	for _, f := range audit.Formats {
		b.Run(string(f), func(b *testing.B) {
			var exportTime, copyTime, verifyTime time.Duration
			var events int64
			for i := 0; i < b.N; i++ {
				copyTime += bareCopy(b, st, sel)
				dir := filepath.Join(b.TempDir(), "x")
				start := time.Now()
				if _, err := audit.Export(context.Background(), st, audit.ExportOptions{Selection: sel, Format: f,
					Layout: audit.LayoutFlat, Dir: dir}); err != nil {
					b.Fatal(err)
				}
				exportTime += time.Since(start)
				start = time.Now()
				rep, err := audit.VerifyExport(context.Background(), audit.VerifyOptions{Dir: dir})
				if err != nil {
					b.Fatal(err)
				}
				verifyTime += time.Since(start)
				events = rep.Events
			}
			b.ReportMetric(float64(events), "events")
			b.ReportMetric(float64(exportTime)/float64(copyTime), "x-copy")
			b.ReportMetric(float64(events)*float64(b.N)/verifyTime.Seconds(), "verified-events/s")
		})
	}
}

// BenchmarkExportMemory runs the archiver binary on a tenth of the archive
// and on all of it and reports each run's peak RSS: an export streams, so
// the two should be within a few MB.
func BenchmarkExportMemory(b *testing.B) {
	_, url, sel := benchArchive(b)
	bin := filepath.Join(b.TempDir(), "archiver")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/archiver").CombinedOutput(); err != nil {
		b.Fatalf("build: %v %s", err, out)
	}
	tenth := sel
	tenth.To = sel.From.Add(sel.To.Sub(sel.From) / 10)
	for _, f := range audit.Formats {
		for name, s := range map[string]store.Selection{"tenth": tenth, "all": sel} {
			cmd := exec.Command(bin, "export", "--from", s.From.Format(time.RFC3339Nano), "--to", s.To.Format(time.RFC3339Nano),
				"--format", string(f), "--out", filepath.Join(b.TempDir(), "x"))
			cmd.Env = append(os.Environ(), "DATABASE_URL="+url)
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("export: %v %s", err, out)
			}
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
			b.ReportMetric(float64(rss)/1024, string(f)+"-"+name+"-MB")
		}
	}
}
