package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// Off a terminal, a backfill's progress is a plain line at most every
// interval, with pages, records, events and the rate.
func TestWalkProgressLines(t *testing.T) {
	var out bytes.Buffer
	clock := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	report := walkProgress(&out, false, 5*time.Second, func() time.Time { return clock })
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
	want := "archiver: prod/cn-hangzhou/ecs.DescribeSendFileResults: 6 pages, 300 records, 4800 events so far (800 events/s)"
	if lines[1] != want {
		t.Fatalf("line 2 = %q, want %q", lines[1], want)
	}
}
