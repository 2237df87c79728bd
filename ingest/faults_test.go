package ingest_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// Ten simulated weeks with a quarter of all API calls failing (throttling
// storms, 5xx, calls slower than the client timeout, rejected and looping
// NextTokens, truncated and non-JSON bodies) and the listing shifting under
// every walk: the archive ends equal to a fault-free run's. Every cycle
// either completes or fails cleanly and is caught up by the next.
func TestGroundTruthUnderFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := cloudsim.Config{Seed: 13, Quirks: true}
	clean := newWorld(t, cfg)
	faultyCfg := cfg
	faultyCfg.Faults = cloudsim.FaultPlan(0.25)
	faultyCfg.Faults.SlowDelay = 400 * time.Millisecond
	faultyCfg.Faults.ShiftEvery, faultyCfg.Faults.ShiftBy = 4, time.Second
	faulty := newWorld(t, faultyCfg)
	faulty.runner.API.Timeout = 150 * time.Millisecond
	faulty.runner.API.Retry = source.RetryPolicy{Base: time.Millisecond, Cap: 20 * time.Millisecond}

	failedCycles, caughtUp := 0, 0
	pendingFailure := false
	for clean.sim.Now().Before(clean.sim.Config().Start.Add(10 * week)) {
		clean.sim.Advance(12 * time.Hour)
		// The faulty cloud's clock ran ahead during shifted walks; bring it to
		// the same instant so both archives poll the same states.
		faulty.sim.Advance(clean.sim.Now().Sub(faulty.sim.Now()))
		if _, err := clean.runner.Once(ctx); err != nil {
			t.Fatal(err)
		}
		results, err := faulty.runner.Once(ctx)
		switch {
		case err != nil:
			failedCycles++
			if pendingFailure {
				t.Fatalf("two cycles in a row failed: %v", err)
			}
			pendingFailure = true
			for _, r := range results {
				if r.Run.Error == "" || r.Run.Outcome != "failed" {
					t.Fatalf("a failed cycle must say why: %+v", r.Run)
				}
			}
		case pendingFailure:
			caughtUp++
			pendingFailure = false
		}
	}
	if pendingFailure {
		if _, err := faulty.runner.Once(ctx); err != nil {
			t.Fatalf("the last failed cycle was not caught up: %v", err)
		}
	}

	stats := faulty.sim.Stats()
	failures := stats.Throttled + stats.ServerErrors + stats.Malformed + stats.Garbage + stats.BadRequests + stats.LoopTokens + stats.Slow
	t.Logf("faulty cloud: %d requests, %d failed (%.0f%%), %d slow, %d shifts; %d cycles failed and were caught up",
		stats.Requests, failures, 100*float64(failures)/float64(stats.Requests), stats.Slow, stats.Shifts, failedCycles)
	if float64(failures) < 0.2*float64(stats.Requests) {
		t.Fatalf("only %d of %d calls failed: the plan is not at least 20%%", failures, stats.Requests)
	}
	if stats.Shifts == 0 || stats.Slow == 0 || stats.LoopTokens == 0 || stats.BadRequests == 0 || stats.Garbage == 0 {
		t.Fatalf("not every fault kind occurred: %+v", stats)
	}

	// Same events: everything but run ids and recording times, and the
	// instant an expiry was noticed (dated by the source's clock, which
	// moved during shifted walks) equal to the second.
	a, b := storetest.Log(t, faulty.url), storetest.Log(t, clean.url)
	if len(a) != len(b) {
		t.Fatalf("faulty archive has %d events, fault-free %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Evidence == "observed" && y.Evidence == "observed" && x.OccurredAt.Sub(y.OccurredAt).Abs() < time.Minute {
			x.OccurredAt = y.OccurredAt
		}
		if !reflect.DeepEqual(x, y) {
			t.Fatalf("event %d differs:\n faulty %+v\n clean  %+v", i, a[i], b[i])
		}
	}

	// Same point-in-time answers.
	qa, qb := &query.Querier{Store: faulty.store}, &query.Querier{Store: clean.store}
	sends := clean.sim.Sends()
	rng := rand.New(rand.NewPCG(13, 7))
	for i := 0; i < 300; i++ {
		s := sends[rng.IntN(len(sends))]
		at := s.CreationTime.Add(time.Duration(rng.Int64N(int64(4 * time.Hour))))
		x, errA := qa.Status(ctx, s.InvokeID, at, nil)
		y, errB := qb.Status(ctx, s.InvokeID, at, nil)
		if errA != nil || errB != nil || x.Status != y.Status || !reflect.DeepEqual(x.Instances, y.Instances) {
			t.Fatalf("%s at %s: faulty %+v %v, clean %+v %v", s.InvokeID, at, x, errA, y, errB)
		}
	}
}
