package e2e_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// SIGTERM and SIGINT stop `archiver run` mid-cycle: the page in flight rolls
// back, the run is recorded as interrupted, and the process exits 0 within
// ten seconds. The next cycle catches up to an uninterrupted archive.
func TestShutdownSignals(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			cfg := cloudsim.Config{Seed: 51, SendsPerDay: 100}
			c := newCloud(t, withLatency(cfg, 50*time.Millisecond))
			c.sim.Advance(10 * 24 * time.Hour)
			url := storetest.URL(t)
			ch := start(t, url, c, "run", "--schedule", "@every 1h", "--listen", "127.0.0.1:0")
			waitFor(t, 30*time.Second, "a page committed", func() bool { return lastRunPages(t, url) > 0 })
			ch.signal(t, sig)
			sent := time.Now()
			if code := ch.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("exit %d after %s:\n%s", code, sig, ch.out.String())
			}
			t.Logf("exited %s after %s", "0", time.Since(sent).Round(time.Millisecond))
			if outcome := lastRunOutcome(t, url); outcome != "interrupted" {
				t.Fatalf("last run recorded as %q, want interrupted", outcome)
			}
			st := openStore(t, url)
			if rep, err := (&query.Querier{Store: st}).Verify(ctx); err != nil || !rep.OK() {
				t.Fatalf("verify after shutdown: %+v %v", rep, err)
			}
			// Catch up, then compare with an archive that was never interrupted.
			ingestOnce(t, url, c)
			cleanURL := storetest.URL(t)
			clean := newCloud(t, cfg)
			clean.sim.Advance(10 * 24 * time.Hour)
			if _, err := clean.runner(t, openStore(t, cleanURL)).Once(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := fingerprint(t, url); got != mustFingerprint(t, cleanURL) {
				t.Fatalf("after catching up the archive differs: %s", diffLogs(t, url, cleanURL))
			}
		})
	}
}

// Connections dropped by PostgreSQL mid-cycle fail the cycle with a clear
// error and commit no partial page; the daemon survives, keeps its schedule,
// and the next cycle catches up.
func TestDaemonSurvivesDroppedConnections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := cloudsim.Config{Seed: 52, SendsPerDay: 100}
	c := newCloud(t, withLatency(cfg, 25*time.Millisecond))
	c.sim.Advance(10 * 24 * time.Hour)
	url := storetest.URL(t)
	// Every cycle walks all 20 pages (at least half a second at this
	// latency), so there is a page transaction to drop: a head walk of one
	// quiet page is over at once.
	ch := startEnv(t, url, c, []string{"ARCHIVER_RECONCILE_EVERY=0"}, "run", "--schedule", "@every 2s",
		"--listen", "127.0.0.1:0")

	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	// Drop every connection the moment one holds an open transaction (a
	// page being stored), until two cycles have failed that way (at most
	// twenty tries: a transaction may commit between the look and the drop).
	drops := 0
	for i := 0; i < 20 && countRuns(t, url, "failed") < 2; i++ {
		waitFor(t, 30*time.Second, "a cycle in progress", func() bool { return lastRunOutcome(t, url) == "running" })
		waitFor(t, 30*time.Second, "a page transaction", func() bool {
			var open bool
			err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
				AND pid <> pg_backend_pid() AND xact_start IS NOT NULL)`).Scan(&open)
			return err == nil && open
		})
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		drops += n
	}
	// Let it run undisturbed until a cycle completes.
	waitFor(t, 60*time.Second, "a complete cycle after the drops", func() bool { return lastRunOutcome(t, url) == "ok" })
	ch.signal(t, syscall.SIGTERM)
	if code := ch.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("daemon exit %d:\n%s", code, ch.out.String())
	}
	out := ch.out.String()
	failed := countRuns(t, url, "failed")
	t.Logf("%d connections dropped, %d cycles failed", drops, failed)
	if drops == 0 || failed == 0 {
		t.Fatalf("the drops did not hit a cycle (%d drops, %d failed runs)", drops, failed)
	}
	if !strings.Contains(out, "database unavailable") {
		t.Fatalf("the failure is not reported as a database problem:\n%s", out)
	}
	cleanURL := storetest.URL(t)
	clean := newCloud(t, cfg)
	clean.sim.Advance(10 * 24 * time.Hour)
	if _, err := clean.runner(t, openStore(t, cleanURL)).Once(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mustFingerprint(t, url); got != mustFingerprint(t, cleanURL) {
		t.Fatalf("archive differs from an undisturbed one: %s", diffLogs(t, url, cleanURL))
	}
}

func mustFingerprint(t *testing.T, url string) string {
	t.Helper()
	f, _ := fingerprint(t, url)
	return f
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lastRunOutcome(t *testing.T, url string) string {
	t.Helper()
	var outcome string
	queryRow(t, url, `SELECT coalesce((SELECT outcome FROM archive.ingest_runs ORDER BY id DESC LIMIT 1), '')`, &outcome)
	return outcome
}

func countRuns(t *testing.T, url, outcome string) int {
	t.Helper()
	var n int
	queryRow(t, url, `SELECT count(*) FROM archive.ingest_runs WHERE outcome = '`+outcome+`'`, &n)
	return n
}

func queryRow(t *testing.T, url, sql string, dst any) {
	t.Helper()
	ctx := context.Background()
	for attempt := 0; ; attempt++ {
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			err = conn.QueryRow(ctx, sql).Scan(dst)
			conn.Close(ctx)
		}
		if err == nil {
			return
		}
		if attempt == 20 {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
