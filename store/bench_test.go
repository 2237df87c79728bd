package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// BenchmarkAppend measures Page.Append (canonical JSON, hash chain, COPY,
// chain-head update) against a bare COPY of the same rows into a copy of the
// events table with the same indexes, in the same run. x-copy is the ratio.
func BenchmarkAppend(b *testing.B) {
	const perPage = 1000
	ctx := context.Background()
	st := storetest.New(b)
	target, _, err := st.EnsureTarget(ctx, "", "cn-bench", model.SourceSendFileResults)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `CREATE TABLE bare_events (LIKE archive.events INCLUDING ALL)`); err != nil {
		b.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"InstanceId": "i-bench", "InvocationStatus": "Success",
		"CreationTime": "2026-01-05T00:00:00Z", "StartTime": "2026-01-05T00:00:10Z", "FinishTime": "2026-01-05T00:01:00Z",
		"UpdateTime": "2026-01-05T00:01:00Z", "ErrorCode": "", "ErrorInfo": ""})
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	var appendTime, copyTime time.Duration
	seq := int64(0)
	for i := 0; i < b.N; i++ {
		events := make([]model.Event, perPage)
		rows := make([][]any, perPage)
		for j := range events {
			seq++
			events[j] = model.Event{InvokeID: fmt.Sprintf("f-%d", seq/6), InstanceID: "i-bench", Seq: seq,
				Type: model.EventInstanceStatusChanged, FromStatus: "Running", ToStatus: "Success",
				OccurredAt: t0.Add(time.Duration(seq) * time.Second), Evidence: model.EvidenceFinishTime, Payload: payload}
			rows[j] = []any{target.ID, events[j].InvokeID, "i-bench", seq, events[j].Type, "Running", "Success",
				events[j].OccurredAt, t0, events[j].Evidence, nil, nil, json.RawMessage(payload), store.GenesisHash, store.GenesisHash, seq}
		}
		start := time.Now()
		if err := st.WithPage(ctx, target.ID, 0, func(p *store.Page) error { return p.Append(ctx, events) }); err != nil {
			b.Fatal(err)
		}
		appendTime += time.Since(start)
		start = time.Now()
		if err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"bare_events"}, []string{
				"target_id", "invoke_id", "instance_id", "seq", "type", "from_status", "to_status",
				"occurred_at", "recorded_at", "evidence", "run_id", "detail", "payload", "prev_hash", "hash", "chain_position",
			}, pgx.CopyFromRows(rows))
			return err
		}); err != nil {
			b.Fatal(err)
		}
		copyTime += time.Since(start)
	}
	b.ReportMetric(float64(appendTime)/float64(copyTime), "x-copy")
	b.ReportMetric(float64(b.N*perPage)/appendTime.Seconds(), "events/s")
}
