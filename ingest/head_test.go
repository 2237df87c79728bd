package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// once runs one cycle of w and returns its single target's run.
func (w *world) once(t *testing.T) store.Run {
	t.Helper()
	results, err := w.runner.Once(context.Background())
	if err != nil {
		t.Fatalf("cycle at %s: %v", w.sim.Now().Format(time.RFC3339), err)
	}
	if len(results) != 1 || !results[0].Run.CompleteWalk {
		t.Fatalf("cycle at %s: %+v", w.sim.Now().Format(time.RFC3339), results)
	}
	return results[0].Run
}

func (w *world) unfinished(t *testing.T) int {
	t.Helper()
	targets, err := w.store.Targets(context.Background())
	if err != nil || len(targets) != 1 {
		t.Fatalf("targets %v: %v", targets, err)
	}
	u, err := w.store.UnfinishedInvocations(context.Background(), targets[0].ID, model.IsFinalAggregate)
	if err != nil {
		t.Fatal(err)
	}
	return len(u)
}

// With a six-week window of about 2,500 sends, a tick with nothing new costs
// at most 2 calls plus one per 50 unfinished sends (counted in ingest_runs),
// where a full walk costs a call per 50 sends; and ticks of head walks build
// the same log as ticks of full walks.
func TestHeadWalkCostsWhatChanged(t *testing.T) {
	t.Parallel()
	cfg := cloudsim.Config{Seed: 31, SendsPerDay: 60}
	head, full := newWorld(t, cfg), newWorld(t, cfg)
	head.runner.ReconcileEvery = time.Hour
	for _, w := range []*world{head, full} {
		w.sim.Advance(6 * week)
	}
	first := head.once(t)
	full.once(t)
	if first.HeadWalk || first.APICalls < len(head.sim.Sends())/50 {
		t.Fatalf("the first cycle must walk everything: %+v", first)
	}
	unfinished := head.unfinished(t)
	tick := head.once(t) // nothing changed: the clock has not moved
	limit := 2 + (unfinished+49)/50
	t.Logf("%d sends, %d unfinished: full walk %d calls, unchanged head walk %d calls (limit %d)",
		len(head.sim.Sends()), unfinished, first.APICalls, tick.APICalls, limit)
	if !tick.HeadWalk || tick.Events != 0 || tick.APICalls > limit {
		t.Fatalf("unchanged tick: head walk %t, %d events, %d calls (limit %d)", tick.HeadWalk, tick.Events,
			tick.APICalls, limit)
	}
	var heads int
	for range 12 {
		for _, w := range []*world{head, full} {
			w.sim.Advance(10 * time.Minute)
		}
		r := head.once(t)
		full.once(t)
		if r.HeadWalk {
			heads++
			if r.APICalls > first.APICalls/4 {
				t.Errorf("a head walk made %d calls, a full walk %d", r.APICalls, first.APICalls)
			}
		}
	}
	if heads < 10 {
		t.Fatalf("%d of 12 ticks were head walks", heads)
	}
	compareWithExpiriesLate(t, storetest.Log(t, head.url), storetest.Log(t, full.url), head.runner.ReconcileEvery)
}

// compareWithExpiriesLate holds a head-walked log equal to a full-walked one
// but for the dates of expiries: head walks leave expiry to the reconcile,
// so an expiry may be recorded up to one reconcile interval later.
func compareWithExpiriesLate(t *testing.T, got, want []storetest.LoggedEvent, late time.Duration) {
	t.Helper()
	var expiries int
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.Type == "invocation_source_expired" && w.Type == g.Type {
			if g.OccurredAt.Before(w.OccurredAt) || g.OccurredAt.After(w.OccurredAt.Add(late)) {
				t.Fatalf("expiry of %s recorded at %s, a full walk saw it at %s", g.InvokeID, g.OccurredAt, w.OccurredAt)
			}
			g.OccurredAt = w.OccurredAt
			got[i] = g
			expiries++
		}
	}
	if d := storetest.FirstDifference(got, want); d != "" {
		t.Fatalf("head walks differ from full walks: %s", d)
	}
	t.Logf("%d events equal, %d expiries recorded within %s of a full walk's", len(got), expiries, late)
}

// Ten weeks polled every two hours with head walks between reconciles every
// twelve: the archive still equals the ground truth, and no reconcile finds
// anything the head walks missed.
func TestGroundTruthHeadWalks(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Config{Seed: 14, Quirks: true})
	w.runner.ReconcileEvery = 12 * time.Hour
	w.poll(t, 10*week, 2*time.Hour)
	// Expiries are the reconcile's to find: one more before comparing.
	w.runner.ReconcileEvery = 0
	w.once(t)
	checkAgainstTruth(t, w, 600, 3)
	heads, misses := walkCounts(t, w)
	if heads < 500 || misses != 0 {
		t.Fatalf("%d head walks, %d misses", heads, misses)
	}
}

// When the listing is not newest first, head walks miss new sends; the
// next reconcile counts them, puts the target on full walks, and the
// archive ends equal to the ground truth all the same.
func TestHeadWalksFallBackOnShuffledListing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Config{Seed: 15, ShuffledListing: true, SendsPerDay: 60, Retention: week})
	w.runner.ReconcileEvery = 12 * time.Hour
	w.poll(t, 4*week, 2*time.Hour)
	checkAgainstTruth(t, w, 600, 4)
	heads, misses := walkCounts(t, w)
	var since *time.Time
	if err := w.store.Pool().QueryRow(context.Background(), `SELECT full_walks_since FROM archive.targets`).Scan(&since); err != nil {
		t.Fatal(err)
	}
	var headsAfter int
	if since != nil {
		if err := w.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM archive.ingest_runs
			WHERE head_walk AND started_at >= $1`, *since).Scan(&headsAfter); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d head walks, %d misses found, full walks since %v", heads, misses, since)
	if misses == 0 || since == nil || headsAfter != 0 {
		t.Fatalf("the misses were not caught: %d misses, full walks since %v, %d head walks after", misses, since, headsAfter)
	}
}

// walkCounts counts the head walks and the misses reconciles found.
func walkCounts(t *testing.T, w *world) (heads, misses int) {
	t.Helper()
	if err := w.store.Pool().QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE head_walk),
		coalesce(sum(head_walk_misses), 0) FROM archive.ingest_runs`).Scan(&heads, &misses); err != nil {
		t.Fatal(err)
	}
	return heads, misses
}

// The newest SDK's window (one day, 1,000 records) with sends arriving at
// 3,000 a day, so a record is listed for about eight hours. Polled every 5
// minutes with head walks nothing is lost and coverage shows no gap; polled
// every 12 hours records are lost, and coverage names gaps that hold every
// lost send's creation time (checked against the ground truth).
func TestShrinkingWindow(t *testing.T) {
	t.Parallel()
	cfg := cloudsim.Config{Seed: 16, Retention: 24 * time.Hour, MaxRecords: 1000, SendsPerDay: 3000, FleetSize: 80}
	t.Run("every 5 minutes", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, cfg)
		w.runner.ReconcileEvery = time.Hour
		w.poll(t, 36*time.Hour, 5*time.Minute)
		w.runner.ReconcileEvery = 0 // expiries are the reconcile's to find
		w.once(t)
		checkAgainstTruth(t, w, 600, 5)
		if cov := coverageOf(t, w); len(cov.Gaps) != 0 {
			t.Fatalf("coverage reports gaps %+v", cov.Gaps)
		}
		if heads, _ := walkCounts(t, w); heads < 300 {
			t.Fatalf("only %d head walks", heads)
		}
	})
	t.Run("every 12 hours", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, cfg)
		w.runner.ReconcileEvery = time.Hour
		w.poll(t, 72*time.Hour, 12*time.Hour)
		cov := coverageOf(t, w)
		gaps := cov.Gaps
		archived := map[string]bool{}
		rows, err := w.store.Pool().Query(context.Background(), `SELECT invoke_id FROM archive.invocations`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			archived[id] = true
		}
		rows.Close()
		// A send lost before the first walk predates the archive (coverage
		// says where it starts); every other lost one must lie in a gap.
		lost, before := 0, 0
		for _, s := range w.sim.Sends() {
			switch {
			case archived[s.InvokeID]:
				continue
			case cov.CoveredFrom != nil && s.CreationTime.Before(*cov.CoveredFrom):
				before++
				continue
			}
			lost++
			inGap := false
			for _, g := range gaps {
				inGap = inGap || !s.CreationTime.Before(g.From) && !s.CreationTime.After(g.To)
			}
			if !inGap {
				t.Fatalf("lost send %s created %s lies in no reported gap %+v", s.InvokeID, s.CreationTime, gaps)
			}
		}
		t.Logf("%d of %d sends lost in %d reported gaps (%d more before the first walk, covered from %s)",
			lost, len(w.sim.Sends()), len(gaps), before, cov.CoveredFrom)
		if lost == 0 || len(gaps) == 0 {
			t.Fatalf("%d sends lost, %d gaps: the scenario does not lose records", lost, len(gaps))
		}
	})
}

// coverageOf is the coverage of the world's single target.
func coverageOf(t *testing.T, w *world) query.TargetCoverage {
	t.Helper()
	ctx := context.Background()
	targets, err := w.store.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := w.store.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cov := query.Coverage(targets, runs)
	if len(cov) != 1 {
		t.Fatalf("coverage of %d targets", len(cov))
	}
	return cov[0]
}
