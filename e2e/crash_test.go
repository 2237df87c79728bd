package e2e_test

import (
	"context"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// SIGKILL at random moments of a cycle, then run again: the event log always
// ends identical to an uninterrupted run's.
func TestKilledArchiverLosesAndDuplicatesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := cloudsim.Config{Seed: 41, SendsPerDay: 150, Quirks: true}
	// Latency stretches a cycle so kills land in walking, appending and
	// committing alike.
	killed := newCloud(t, withLatency(cfg, 3*time.Millisecond))
	clean := newCloud(t, cfg)
	killedURL, cleanURL := storetest.URL(t), storetest.URL(t)
	reference := clean.runner(t, openStore(t, cleanURL))

	// Every cycle walks the whole listing: the long cycle, where kills land
	// in walking, appending and committing (head walks are over in a page).
	fullWalks := []string{"ARCHIVER_RECONCILE_EVERY=0"}
	rng := rand.New(rand.NewPCG(41, 1))
	kills, beforeFirstPage, midWalk := 0, 0, 0
	for poll := 0; kills < 32 && poll < 80; poll++ {
		advance := 8 * time.Hour
		if poll == 0 {
			advance = 21 * 24 * time.Hour // a backlog for the first cycle
		}
		killed.sim.Advance(advance)
		clean.sim.Advance(advance)
		if _, err := reference.Once(ctx); err != nil {
			t.Fatal(err)
		}

		ch := startEnv(t, killedURL, killed, fullWalks, "ingest", "--once")
		time.Sleep(time.Duration(rng.Int64N(int64(600 * time.Millisecond))))
		ch.signal(t, syscall.SIGKILL)
		if code := ch.wait(t, time.Minute); code == -1 {
			kills++
			pages := lastRunPages(t, killedURL)
			if pages == 0 {
				beforeFirstPage++
			} else {
				midWalk++
			}
		}
		ingestOnceEnv(t, killedURL, killed, fullWalks)
	}
	t.Logf("%d kills: %d before the first page committed, %d after some pages", kills, beforeFirstPage, midWalk)
	if kills < 30 {
		t.Fatalf("only %d kills interrupted a cycle", kills)
	}
	if beforeFirstPage == 0 || midWalk == 0 {
		t.Fatalf("kills did not spread over the cycle: %d before the first page, %d mid-walk", beforeFirstPage, midWalk)
	}
	got, n := fingerprint(t, killedURL)
	want, m := fingerprint(t, cleanURL)
	if got != want {
		t.Fatalf("event log after kills (%d events) differs from the uninterrupted one (%d events): %s",
			n, m, diffLogs(t, killedURL, cleanURL))
	}
	code := start(t, killedURL, killed, "verify").wait(t, time.Minute)
	if code != 0 {
		t.Fatal("verify failed after the kills")
	}
}

func withLatency(cfg cloudsim.Config, d time.Duration) cloudsim.Config {
	cfg.Faults.Latency = d
	return cfg
}

// lastRunPages is how many pages the newest run had committed.
func lastRunPages(t *testing.T, url string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var pages int
	err = conn.QueryRow(context.Background(), `SELECT coalesce((SELECT pages FROM archive.ingest_runs ORDER BY id DESC LIMIT 1), 0)`).Scan(&pages)
	if err != nil {
		t.Fatal(err)
	}
	return pages
}
