package ingest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// A page transaction that fails in the background, while the walk already
// prepares the next page, fails the run: it is not recorded as a complete
// walk, nothing after the failed page is committed, and the next cycle
// archives exactly what a serial walk of the same world does.
func TestFailedBackgroundCommitFailsTheRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := cloudsim.Config{Seed: 14, SendsPerDay: 300}
	serial := newWorld(t, cfg)
	serial.runner.ReadAhead = -1
	w := newWorld(t, cfg)
	for _, x := range []*world{serial, w} {
		x.sim.Advance(3 * 24 * time.Hour)
	}
	admin, err := pgx.Connect(ctx, storetest.AdminURL(t, w.url))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	// The third page's progress update fails, inside its transaction, once
	// (a sequence is not rolled back with it): were the failure ignored,
	// the pages after it would commit.
	_, err = admin.Exec(ctx, `CREATE SEQUENCE archive.fail_once;
		CREATE FUNCTION archive.fail_third_page() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
		BEGIN
			IF nextval('archive.fail_once') = 1 THEN
				RAISE EXCEPTION 'injected failure of page %', NEW.pages;
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER fail_third_page BEFORE UPDATE ON archive.ingest_runs FOR EACH ROW
		WHEN (NEW.pages = 3 AND NEW.finished_at IS NULL) EXECUTE FUNCTION archive.fail_third_page()`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.runner.Once(ctx); err == nil || !strings.Contains(err.Error(), "injected failure of page 3") {
		t.Fatalf("cycle error %v, want the third page's failure", err)
	}
	var outcome string
	var complete bool
	var pages, runEvents, events int
	err = admin.QueryRow(ctx, `SELECT outcome, complete_walk, pages, events, (SELECT count(*) FROM archive.events)
		FROM archive.ingest_runs`).Scan(&outcome, &complete, &pages, &runEvents, &events)
	if err != nil {
		t.Fatal(err)
	}
	if outcome != "failed" || complete || pages != 2 || runEvents != events || events == 0 {
		t.Fatalf("after the failure: outcome %s, complete walk %v, %d pages and %d events recorded, %d events stored; "+
			"want a failed, incomplete run of the 2 pages stored", outcome, complete, pages, runEvents, events)
	}
	if _, err := admin.Exec(ctx, `DROP TRIGGER fail_third_page ON archive.ingest_runs`); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*world{serial, w} {
		if _, err := x.runner.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want, n := storetest.Fingerprint(t, serial.url)
	if got, m := storetest.Fingerprint(t, w.url); got != want || n == 0 {
		t.Fatalf("after the failure, the archive has %d events unlike the serial walk's %d", m, n)
	}
}
