package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/harness"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// BenchmarkVerify measures `archiver verify` over a large archive (set
// VERIFY_EVENTS, default 1,000,000) against a bare scan of the same rows
// (the floor: reading them at all). x-scan is the ratio.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	st := storetest.New(b)
	total := 1_000_000
	if v := envInt("VERIFY_EVENTS"); v > 0 {
		total = v
	}
	target, _, err := st.EnsureTarget(ctx, "", "cn-bench", model.SourceSendFileResults)
	if err != nil {
		b.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"InstanceId": "i-bench", "InvocationStatus": "Success",
		"CreationTime": "2026-01-05T00:00:00Z", "FinishTime": "2026-01-05T00:01:00Z", "ErrorCode": "", "VmCount": 3})
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	const batch = 10_000
	for seq := 0; seq < total; {
		events := make([]model.Event, 0, batch)
		for j := 0; j < batch && seq < total; j++ {
			seq++
			events = append(events, model.Event{InvokeID: fmt.Sprintf("f-%d", seq), InstanceID: "i-bench", Seq: 1,
				Type: model.EventInstanceStatusChanged, FromStatus: "Running", ToStatus: "Success",
				OccurredAt: t0.Add(time.Duration(seq) * time.Second), Evidence: model.EvidenceFinishTime, Payload: payload,
				Detail: []byte(`{"error_code":"","error_info":""}`)})
		}
		// Each event is a send of its own; its projection is folded too, so
		// the archive verifies (verify compares projections with the log).
		known := make([]*model.KnownInvocation, len(events))
		for i, e := range events {
			known[i] = model.NewKnownInvocation(e.InvokeID)
			if err := known[i].Apply([]model.Event{e}); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.WithPage(ctx, target.ID, 0, func(p *store.Page) error {
			if err := p.Append(ctx, events); err != nil {
				return err
			}
			pr, err := store.PlanProjections(target.ID, known, model.Aggregate)
			if err != nil {
				return err
			}
			return p.WriteProjections(ctx, pr)
		}); err != nil {
			b.Fatal(err)
		}
	}
	q := &query.Querier{Store: st}
	b.ResetTimer()
	var verifyTime, scanTime time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rep, err := q.Verify(ctx)
		verifyTime += time.Since(start)
		if err != nil || !rep.OK() || rep.Events != int64(total) {
			b.Fatalf("verify: %+v %v", rep, err)
		}
		start = time.Now()
		n := 0
		if err := st.ScanEvents(ctx, store.ByChain, func(store.StoredEvent) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		scanTime += time.Since(start)
	}
	b.ReportMetric(float64(verifyTime)/float64(scanTime), "x-scan")
	b.ReportMetric(float64(total)*float64(b.N)/verifyTime.Seconds(), "events/s")
	b.ReportMetric(verifyTime.Seconds()/float64(b.N), "s/verify")
}

// BenchmarkVerifyArchive is BenchmarkVerify on a realistic archive: the
// simulator's sends (about 16 events each) archived by the archiver, so the
// projection check folds sends of their real size rather than one event
// each. Set VERIFY_BENCH_URL to reuse a built archive (the export
// benchmark's, say); else one of about a million events is built here.
//
//	VERIFY_BENCH_URL=… go test ./query/ -run XXX -bench VerifyArchive -benchtime 1x
func BenchmarkVerifyArchive(b *testing.B) {
	ctx := context.Background()
	url := os.Getenv("VERIFY_BENCH_URL")
	if url == "" {
		url = storetest.URL(b)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var total int64
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM archive.events`).Scan(&total); err != nil {
		b.Fatal(err)
	}
	if total == 0 {
		if _, err := harness.BuildArchive(ctx, st, 7, 1000, 59); err != nil {
			b.Fatal(err)
		}
		_ = st.Pool().QueryRow(ctx, `SELECT count(*) FROM archive.events`).Scan(&total)
	}
	q := &query.Querier{Store: st}
	b.ResetTimer()
	var verifyTime, scanTime time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rep, err := q.Verify(ctx)
		verifyTime += time.Since(start)
		if err != nil || !rep.OK() || rep.Events != total {
			b.Fatalf("verify: %+v %v", rep, err)
		}
		start = time.Now()
		if err := st.ScanEvents(ctx, store.ByChain, func(store.StoredEvent) error { return nil }); err != nil {
			b.Fatal(err)
		}
		scanTime += time.Since(start)
	}
	b.ReportMetric(float64(total), "events")
	b.ReportMetric(float64(verifyTime)/float64(scanTime), "x-scan")
	b.ReportMetric(float64(total)*float64(b.N)/verifyTime.Seconds(), "events/s")
}
