package e2e_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// Four archivers on the same targets at once, with a daemon overlapping
// them: each target is worked by one at a time, the others skip it and say
// so, and the log has no duplicate and no gap in any invocation's sequence.
func TestConcurrentArchivers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := cloudsim.Config{Seed: 61, Regions: []string{"cn-hangzhou", "cn-beijing", "cn-shanghai"}, SendsPerDay: 40}
	c := newCloud(t, withLatency(cfg, 2*time.Millisecond))
	clean := newCloud(t, cfg)
	url, cleanURL := storetest.URL(t), storetest.URL(t)
	reference := clean.runner(t, openStore(t, cleanURL))

	daemon := start(t, url, c, "run", "--schedule", "@every 1s", "--listen", "127.0.0.1:0")
	skips := 0
	for poll := 0; poll < 8; poll++ {
		step := 12 * time.Hour
		if poll == 0 {
			step = 10 * 24 * time.Hour
		}
		c.sim.Advance(step)
		clean.sim.Advance(step)
		if _, err := reference.Once(ctx); err != nil {
			t.Fatal(err)
		}
		var procs []*child
		for i := 0; i < 4; i++ {
			procs = append(procs, start(t, url, c, "ingest", "--once"))
		}
		for _, p := range procs {
			if code := p.wait(t, 2*time.Minute); code != 0 {
				t.Fatalf("ingest --once exited %d:\n%s", code, p.out.String())
			}
			skips += strings.Count(p.out.String(), "skipped (lease held elsewhere)")
		}
		// Every state must be archived at least once before the cloud moves
		// on, as a serial archiver would have.
		ingestOnce(t, url, c)
	}
	daemon.signal(t, syscall.SIGTERM)
	if code := daemon.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("daemon exit %d", code)
	}
	skips += strings.Count(daemon.out.String(), "another archiver holds its lease")
	if skips == 0 {
		t.Fatal("no archiver ever found a target busy: the test did not exercise concurrency")
	}
	t.Logf("%d skips for a held lease", skips)

	var gaps, overlaps int
	queryRow(t, url, `SELECT count(*) FROM (SELECT target_id, invoke_id FROM archive.events GROUP BY 1, 2
		HAVING min(seq) <> 1 OR max(seq) <> count(*) OR count(DISTINCT seq) <> count(*)) g`, &gaps)
	if gaps != 0 {
		t.Fatalf("%d invocations have gaps or duplicates in their sequence", gaps)
	}
	queryRow(t, url, `SELECT count(*) FROM archive.ingest_runs a JOIN archive.ingest_runs b
		ON a.target_id = b.target_id AND a.id < b.id AND a.outcome <> 'running' AND b.outcome <> 'running'
		AND tstzrange(a.started_at, a.finished_at) && tstzrange(b.started_at, b.finished_at)`, &overlaps)
	if overlaps != 0 {
		t.Fatalf("%d pairs of runs worked the same target at the same time", overlaps)
	}
	if got, want := mustFingerprint(t, url), mustFingerprint(t, cleanURL); got != want {
		t.Fatalf("concurrent archive differs from a serial one: %s", diffLogs(t, url, cleanURL))
	}
}
