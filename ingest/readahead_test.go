package ingest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// Reading pages ahead changes when pages are fetched, never what is
// archived: with none, one and four pages of read-ahead, under throttling,
// 5xx answers and rejected and repeating tokens (walks that fail and
// restart part way, with pages fetched ahead and never stored), the same
// world gives the same event log.
func TestReadAheadLeavesTheLogUnchanged(t *testing.T) {
	t.Parallel()
	faults := cloudsim.Faults{ThrottleRate: 0.1, ServerErrorRate: 0.05, BadTokenRate: 0.05, LoopTokenRate: 0.03}
	var want string
	for _, ahead := range []int{-1, 1, 4} {
		w := newWorld(t, cloudsim.Config{Seed: 12, SendsPerDay: 120, Faults: faults})
		w.runner.ReadAhead = ahead
		ctx := context.Background()
		for range 12 {
			w.sim.Advance(14 * time.Hour)
			// A cycle may fail (a fault outlasting its retries, a token
			// loop beyond the restarts): the next one catches up.
			_, _ = w.runner.Once(ctx)
		}
		w.sim.SetFaults(cloudsim.Faults{})
		if _, err := w.runner.Once(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("read-ahead %d: the last, fault-free cycle failed: %v", ahead, err)
		}
		got, n := storetest.Fingerprint(t, w.url)
		if n == 0 {
			t.Fatalf("read-ahead %d: nothing archived", ahead)
		}
		if want == "" {
			want = got
		} else if got != want {
			t.Fatalf("read-ahead %d archived another log (%d events) than none", ahead, n)
		}
	}
}
