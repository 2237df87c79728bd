package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/store"
)

// A backfill reports its progress after every page it stores: one report
// per page, counts that only grow, the last one the run's totals.
func TestBackfillReportsProgressPerPage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Config{Seed: 19, SendsPerDay: 120})
	w.sim.Advance(3 * 7 * 24 * time.Hour)
	var reports []store.Run
	w.runner.Progress = func(_ store.Target, run store.Run) { reports = append(reports, run) }
	results, err := w.runner.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	final := results[0].Run
	if final.Pages < 20 || len(reports) != final.Pages {
		t.Fatalf("%d reports for %d pages", len(reports), final.Pages)
	}
	for i, r := range reports {
		if r.Pages != i+1 || (i > 0 && (r.Records < reports[i-1].Records || r.Events < reports[i-1].Events)) {
			t.Fatalf("report %d: %+v after %+v", i, r, reports[max(i-1, 0)])
		}
	}
	if last := reports[len(reports)-1]; last.Records != final.Records || last.Events != final.Events {
		t.Fatalf("the last report %+v is not the run's totals %+v", last, final)
	}
}
