package e2e_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/store/pgserver"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// PostgreSQL itself restarted under a running daemon: once in the middle of
// a cycle, and once staying down for several cycles. The daemon stays up,
// says what is wrong in one line per failed cycle, /healthz turns 503 and
// back, and the archive ends equal to an undisturbed one.
func TestDaemonSurvivesPostgresRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "archiver-restart") // the server runs as postgres: not under t.TempDir's 0700
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	pg, err := pgserver.StartIn(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pg.Stop() }()
	url := pg.URL("test")

	cfg := cloudsim.Config{Seed: 53, SendsPerDay: 150}
	c := newCloud(t, withLatency(cfg, 10*time.Millisecond))
	c.sim.Advance(20 * 24 * time.Hour)
	if code := start(t, url, c, "migrate").wait(t, time.Minute); code != 0 {
		t.Fatalf("migrate exited %d", code)
	}
	addr := freeAddr(t)
	ch := start(t, url, c, "run", "--schedule", "@every 1s", "--listen", addr, "--log-format", "json")
	restart := func(down time.Duration) {
		t.Helper()
		if err := pg.Stop(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(down)
		if pg, err = pgserver.StartIn(ctx, dir); err != nil {
			t.Fatal(err)
		}
	}

	// 1. In the middle of the first cycle (a backfill of 20 days).
	waitFor(t, 30*time.Second, "the first cycle under way", func() bool { return lastRunOutcome(t, url) == "running" })
	time.Sleep(200 * time.Millisecond)
	restart(0)
	waitFor(t, 60*time.Second, "a complete cycle after the restart", func() bool { return countRuns(t, url, "ok") >= 1 })

	// 2. Down for several cycles: /healthz says so while it lasts.
	failedBefore := strings.Count(ch.out.String(), `"msg":"cycle failed"`)
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "/healthz failing", func() bool { return health(t, addr) == http.StatusServiceUnavailable })
	// New sends and changes while it is down; every cycle now fails before
	// its first API call, so none sees half of this step.
	c.sim.Advance(6 * time.Hour)
	time.Sleep(3 * time.Second) // three more scheduled cycles
	if pg, err = pgserver.StartIn(ctx, dir); err != nil {
		t.Fatal(err)
	}
	okBefore := countRuns(t, url, "ok")
	waitFor(t, 60*time.Second, "a complete cycle after the outage", func() bool { return countRuns(t, url, "ok") > okBefore })
	waitFor(t, 30*time.Second, "/healthz ok", func() bool { return health(t, addr) == http.StatusOK })

	ch.signal(t, syscall.SIGTERM)
	if code := ch.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("daemon exit %d:\n%s", code, ch.out.String())
	}
	out := ch.out.String()
	checkOutageLog(t, out, failedBefore)

	cleanURL := storetest.URL(t)
	clean := newCloud(t, cfg)
	reference := clean.runner(t, openStore(t, cleanURL))
	for _, step := range []time.Duration{20 * 24 * time.Hour, 6 * time.Hour} {
		clean.sim.Advance(step)
		if _, err := reference.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := mustFingerprint(t, url); got != mustFingerprint(t, cleanURL) {
		t.Fatalf("archive differs from an undisturbed one: %s", diffLogs(t, url, cleanURL))
	}
}

// checkOutageLog checks the daemon's log of the outages: at least two failed
// cycles after the first failedBefore, each one line naming the database as
// the problem. The only other line allowed is the coverage update of a cycle
// that succeeded just as the server went down (at most once per stop); a
// cycle in which every target failed says so once and nothing more.
func checkOutageLog(t *testing.T, out string, failedBefore int) {
	t.Helper()
	const stops = 2
	var failed, coverage int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec struct {
			Level, Msg, Err string
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("a log line that is not JSON: %q", line)
		}
		if rec.Level != "WARN" && rec.Level != "ERROR" {
			continue
		}
		switch rec.Msg {
		case "cycle failed":
			failed++
		case "coverage metric not updated":
			coverage++
		default:
			t.Errorf("an unexpected line: %s", line)
			continue
		}
		if !regexp.MustCompile(`database unavailable`).MatchString(rec.Err) {
			t.Errorf("a failure that does not say the database is the problem: %s", line)
		}
	}
	t.Logf("%d cycles failed during the outage (%d before it); %d coverage updates failed", failed-failedBefore,
		failedBefore, coverage)
	if coverage > stops {
		t.Errorf("%d coverage update failures for %d stops: a failed cycle says more than one line", coverage, stops)
	}
	if failed-failedBefore < 2 {
		t.Fatalf("%d cycles failed during the outage, want at least 2:\n%s", failed-failedBefore, out)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// health is /healthz's status code (0 while the listener is not up).
func health(t *testing.T, addr string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	return resp.StatusCode
}
