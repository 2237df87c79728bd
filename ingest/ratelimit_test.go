package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// A sustained throttling storm (seven calls in ten throttled, for ten
// cycles) slows the archiver down but fails no cycle, and the archive ends
// as it would have without it.
func TestThrottlingStormSlowsDownNotFails(t *testing.T) {
	t.Parallel()
	calm := newWorld(t, cloudsim.Config{Seed: 17, SendsPerDay: 200})
	storm := newWorld(t, cloudsim.Config{Seed: 17, SendsPerDay: 200, Faults: cloudsim.Faults{ThrottleRate: 0.7}})
	ctx := context.Background()
	for i := range 10 {
		for _, w := range []*world{calm, storm} {
			w.sim.Advance(6 * time.Hour)
			results, err := w.runner.Once(ctx)
			if err != nil {
				t.Fatalf("cycle %d failed in the %s world: %v", i, map[bool]string{true: "stormy", false: "calm"}[w == storm], err)
			}
			if w == storm && i == 0 && results[0].Run.Retries == 0 {
				t.Fatal("the storm throttled nothing")
			}
		}
	}
	want, n := storetest.Fingerprint(t, calm.url)
	if got, _ := storetest.Fingerprint(t, storm.url); got != want {
		t.Fatalf("the storm changed the archive (%d events when calm)", n)
	}
}

// The token bucket holds a walk to its rate: a cycle of N calls at R calls
// a second with a burst of R takes at least (N-R)/R seconds. (A lower
// bound: a slow machine only makes it longer.)
func TestRateLimitHoldsTheWalkToItsRate(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Config{Seed: 18, SendsPerDay: 60})
	w.sim.Advance(6 * 7 * 24 * time.Hour)
	ctx := context.Background()
	if _, err := w.runner.Once(ctx); err != nil { // the backlog, unlimited
		t.Fatal(err)
	}
	// A steady walk (nothing changed) stores nothing: unlimited it takes a
	// fraction of what the rate allows.
	limited, err := w.cloud.Runner(w.sim, w.store)
	if err != nil {
		t.Fatal(err)
	}
	const rate = 20
	limited.RateLimit = rate
	start := time.Now()
	results, err := limited.Once(ctx)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	calls := results[0].Run.APICalls
	if calls < 2*rate {
		t.Fatalf("only %d calls: the walk is too short to show the rate", calls)
	}
	if floor := time.Duration(float64(calls-rate) / rate * float64(time.Second)); elapsed < floor {
		t.Fatalf("%d calls in %s: faster than %d a second allows (%s)", calls, elapsed, rate, floor)
	}
}
