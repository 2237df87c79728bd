package schedule

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
)

// The metrics name each target by account, region and source, and the
// coverage gauge carries the length of the target's gaps as coverage
// computes them from the runs.
func TestMetricsPerTargetAndCoverageGap(t *testing.T) {
	m := newMetrics()
	m.staleAfter.Set(43200)
	prod := store.Target{ID: 1, Account: "prod", Region: "cn-hangzhou", Source: model.SourceSendFileResults}
	dev := store.Target{ID: 2, Account: "dev", Region: "cn-hangzhou", Source: model.SourceSendFileResults}
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) *time.Time { x := t0.Add(time.Duration(h) * time.Hour); return &x }
	// Two complete walks of prod: the second lists nothing older than 5h,
	// though the first started at 0h: 5 hours uncovered. dev: one walk.
	runs := []store.Run{
		{TargetID: 1, StartedAt: t0, FinishedAt: at(0), Outcome: model.RunOK, CompleteWalk: true, OldestListed: at(-10)},
		{TargetID: 1, StartedAt: *at(20), FinishedAt: at(20), Outcome: model.RunOK, CompleteWalk: true, OldestListed: at(5)},
		{TargetID: 2, StartedAt: t0, FinishedAt: at(0), Outcome: model.RunOK, CompleteWalk: true, OldestListed: at(-10)},
	}
	m.record([]ingest.Result{{Target: prod, Run: runs[1]}, {Target: dev, Run: runs[2]}})
	m.recordCoverage(query.Coverage([]store.Target{prod, dev}, runs))
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`archiver_coverage_gap_seconds{account="prod",region="cn-hangzhou",source="ecs.DescribeSendFileResults"} 18000`,
		`archiver_coverage_gap_seconds{account="dev",region="cn-hangzhou",source="ecs.DescribeSendFileResults"} 0`,
		`archiver_ingest_runs_total{account="prod",outcome="ok",region="cn-hangzhou",source="ecs.DescribeSendFileResults"} 1`,
		`archiver_last_success_timestamp_seconds{account="dev",region="cn-hangzhou",source="ecs.DescribeSendFileResults"} ` +
			"1.7775936e+09",
		"archiver_stale_after_seconds 43200",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(string(body))
	}
}
