package ingest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// BenchmarkIngest measures a cycle against the bare API walk it cannot beat,
// in the same run: "first" archives a six-week backlog into an empty
// archive, "steady" re-walks it with nothing changed (the usual cron tick).
// The reported x-walk metric is cycle time divided by bare-walk time.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	w := newWorld(b, cloudsim.Config{Seed: 31, SendsPerDay: 60})
	w.sim.Advance(6 * week)
	cfg := w.sim.Config()
	api, err := w.cloud.API(w.sim)
	if err != nil {
		b.Fatal(err)
	}
	client, err := source.NewClient(cfg.Regions[0], api)
	if err != nil {
		b.Fatal(err)
	}
	bareWalk := func() (pages, records int) {
		token := ""
		for {
			p, _, err := client.ListPage(ctx, token)
			if err != nil {
				b.Fatal(err)
			}
			pages++
			records += len(p.Invocations)
			if p.NextToken == "" {
				return
			}
			token = p.NextToken
		}
	}
	// "first-50ms" is "first" with the simulator answering each call after
	// 50 ms, as a real API does (50-200 ms): with read-ahead, the page
	// transactions hide behind the waits.
	// "first-50ms-serial" is the same without read-ahead, for comparison.
	for _, mode := range []string{"first", "steady", "first-50ms", "first-50ms-serial"} {
		b.Run(mode, func(b *testing.B) {
			if strings.HasPrefix(mode, "first-50ms") {
				w.sim.SetFaults(cloudsim.Faults{Latency: 50 * time.Millisecond})
				defer w.sim.SetFaults(cloudsim.Faults{})
			}
			var walkTime, cycleTime time.Duration
			var pages, records, events int
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				st := storetest.New(b)
				target, _, err := st.EnsureTarget(ctx, "", cfg.Regions[0], model.SourceSendFileResults)
				if err != nil {
					b.Fatal(err)
				}
				c := &ingest.Cycle{Store: st, Target: target, Source: client, Clock: w.sim.Now}
				if strings.HasSuffix(mode, "-serial") {
					c.ReadAhead = -1
				}
				if mode == "steady" {
					if _, err := c.Run(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				t0 := time.Now()
				pages, records = bareWalk()
				walkTime += time.Since(t0)
				t1 := time.Now()
				run, err := c.Run(ctx)
				cycleTime += time.Since(t1)
				if err != nil {
					b.Fatal(err)
				}
				events = run.Events
			}
			b.ReportMetric(float64(cycleTime)/float64(walkTime), "x-walk")
			b.ReportMetric(float64(records), "records")
			b.ReportMetric(float64(pages), "pages")
			b.ReportMetric(float64(events), "events")
		})
	}
}
