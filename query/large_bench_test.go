package query_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
)

// BenchmarkLargeArchive measures the analyst-facing answers on a large
// archive, each as a ratio to a bare count of the event log measured in the
// same run (DESIGN.md §13; goal: at most 0.1). Build the archive once (see
// BENCHMARKS.md: the simulator's one-year fleet ingested by the archiver)
// and point LARGE_ARCHIVE_URL at it:
//
//	LARGE_ARCHIVE_URL=postgres://… go test ./query/ -run XXX -bench LargeArchive -benchtime 5x
func BenchmarkLargeArchive(b *testing.B) {
	url := os.Getenv("LARGE_ARCHIVE_URL")
	if url == "" {
		b.Skip("set LARGE_ARCHIVE_URL to a large archive (BENCHMARKS.md says how to build one)")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	pool := st.Pool()
	var events, bytes int64
	var first, last time.Time
	if err := pool.QueryRow(ctx, `SELECT count(*), pg_total_relation_size('archive.events'), min(occurred_at), max(occurred_at)
		FROM archive.events`).Scan(&events, &bytes, &first, &last); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(float64(bytes)/float64(events), "bytes/event")
	mid := first.Add(last.Sub(first) / 2)
	q := &query.Querier{Store: st}
	timeIt := func(fn func() error) time.Duration {
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var base, report, q3, fleet time.Duration
	for i := 0; i < b.N; i++ {
		base += timeIt(func() error {
			var n int64
			return pool.QueryRow(ctx, `SELECT count(*) FROM archive.events`).Scan(&n)
		})
		report += timeIt(func() error { _, err := q.Report(ctx, mid); return err })
		q3 += timeIt(func() error { return drain(ctx, st, quarterQuery, mid.Add(-45*24*time.Hour), mid.Add(45*24*time.Hour)) })
		fleet += timeIt(func() error { return drain(ctx, st, fleetQuery, mid) })
	}
	b.ReportMetric(float64(report)/float64(base), "report-at/x-count")
	b.ReportMetric(float64(q3)/float64(base), "quarter-query/x-count")
	b.ReportMetric(float64(fleet)/float64(base), "fleet-query/x-count")
	b.ReportMetric(base.Seconds()/float64(b.N), "count-s")
	b.ReportMetric(statusAtP99(b, st, mid).Seconds()*1000, "status-at-p99-ms")
}

const quarterQuery = `SELECT s.invoke_id, s.name, s.target_dir, s.creation_time, i.status
	FROM archive.sends s
	LEFT JOIN archive.send_status_intervals i ON i.target_id = s.target_id AND i.invoke_id = s.invoke_id
	     AND i.valid_from <= $2 AND (i.valid_to IS NULL OR i.valid_to > $2)
	WHERE s.creation_time >= $1 AND s.creation_time < $2 ORDER BY s.creation_time`

// recentQuery is the README's query for a short, recent period: each send's
// intervals looked up laterally.
const recentQuery = `SELECT s.invoke_id, s.name, s.creation_time, i.status
	FROM archive.sends s
	LEFT JOIN LATERAL (
	    SELECT i.status FROM archive.send_intervals i
	    WHERE i.target_id = s.target_id AND i.invoke_id = s.invoke_id
	      AND i.valid_from <= $2 AND (i.valid_to IS NULL OR i.valid_to > $2)
	    ORDER BY i.valid_from DESC LIMIT 1) i ON true
	WHERE s.creation_time >= $1 AND s.creation_time < $2 ORDER BY s.creation_time`

const fleetQuery = `SELECT account, region, status, count(*) FROM archive.send_status_intervals
	WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1) GROUP BY 1, 2, 3`

func drain(ctx context.Context, st *store.Store, sql string, args ...any) error {
	rows, err := st.Pool().Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// statusAtP99 is the 99th percentile of archive.invocation_status_at over a
// thousand random sends, timed inside the server (the select list is
// evaluated left to right), so network and client scheduling do not count.
func statusAtP99(b *testing.B, st *store.Store, at time.Time) time.Duration {
	ctx := context.Background()
	var p99 float64
	var found int
	err := st.Pool().QueryRow(ctx, `SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM t1 - t0)), count(status)
		FROM (SELECT clock_timestamp() AS t0, archive.invocation_status_at(invoke_id, $1) AS status, clock_timestamp() AS t1
		      FROM (SELECT invoke_id FROM archive.invocations TABLESAMPLE BERNOULLI (0.2) LIMIT 1000) ids OFFSET 0) calls`, at).Scan(&p99, &found)
	if err != nil || found == 0 {
		b.Fatalf("status at: %d found, %v", found, err)
	}
	return time.Duration(p99 * float64(time.Second))
}

// BenchmarkRecentMonth runs the same queries over the most recent month of
// a one-year and a three-year archive and reports each as a ratio of the
// three-year time to the one-year time (the goal: about 1, so years of
// history do not slow down questions about last month). Build the
// three-year archive with bench/three-years.sh.
//
//	YEAR1_URL=… YEAR3_URL=… go test ./query/ -run XXX -bench RecentMonth -benchtime 5x
func BenchmarkRecentMonth(b *testing.B) {
	urls := []string{os.Getenv("YEAR1_URL"), os.Getenv("YEAR3_URL")}
	if urls[0] == "" || urls[1] == "" {
		b.Skip("set YEAR1_URL and YEAR3_URL (BENCHMARKS.md says how to build them)")
	}
	ctx := context.Background()
	queries := map[string]string{
		"events-by-type":     `SELECT type, count(*) FROM archive.events WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1`,
		"sends-outcome":      recentQuery,
		"sends-outcome-join": quarterQuery,
	}
	took := map[string][2]time.Duration{}
	for i, url := range urls {
		st, err := store.Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		var to time.Time
		if err := st.Pool().QueryRow(ctx, `SELECT max(occurred_at) FROM archive.events`).Scan(&to); err != nil {
			b.Fatal(err)
		}
		from := to.Add(-30 * 24 * time.Hour)
		// One untimed pass first: each archive is measured warm, not the
		// first one cold and the second in the cache the first filled.
		for _, sql := range queries {
			if err := drain(ctx, st, sql, from, to); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := (&query.Querier{Store: st}).Period(ctx, from, to); err != nil {
			b.Fatal(err)
		}
		for n := 0; n < b.N; n++ {
			for name, sql := range queries {
				start := time.Now()
				if err := drain(ctx, st, sql, from, to); err != nil {
					b.Fatal(err)
				}
				d := took[name]
				d[i] += time.Since(start)
				took[name] = d
			}
			start := time.Now()
			if _, err := (&query.Querier{Store: st}).Period(ctx, from, to); err != nil {
				b.Fatal(err)
			}
			d := took["period-report"]
			d[i] += time.Since(start)
			took["period-report"] = d
		}
		st.Close()
	}
	for name, d := range took {
		b.ReportMetric(float64(d[1])/float64(d[0]), name+"/3y-to-1y")
	}
}
