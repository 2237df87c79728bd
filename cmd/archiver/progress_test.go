package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// Off a terminal, a backfill's progress is a log line (in the log's own
// format) at most every interval, with pages, records, events and the rate.
func TestLogProgressLines(t *testing.T) {
	var out bytes.Buffer
	clock := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	report := logProgress(slog.New(slog.NewJSONHandler(&out, nil)), 5*time.Second, func() time.Time { return clock })
	target := store.Target{ID: 1, Account: "prod", Region: "cn-hangzhou", Source: model.SourceSendFileResults}
	run := store.Run{StartedAt: clock}
	for page := 1; page <= 30; page++ { // a page a second for 30 seconds
		clock = clock.Add(time.Second)
		run.Pages, run.Records, run.Events = page, page*50, page*800
		report(target, run)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines in 30 s at most one per 5 s, want 6:\n%s", len(lines), out.String())
	}
	var second map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if second["msg"] != "walking" || second["target"] != "prod/cn-hangzhou/ecs.DescribeSendFileResults" ||
		second["pages"] != float64(6) || second["records"] != float64(300) || second["events"] != float64(4800) ||
		second["events_per_second"] != float64(800) {
		t.Fatalf("second line: %s", lines[1])
	}
}
