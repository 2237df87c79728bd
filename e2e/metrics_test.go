package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// `archiver run` cycles on its schedule and reports on /healthz and /metrics.
func TestDaemonScheduleAndMetrics(t *testing.T) {
	t.Parallel()
	c := newCloud(t, cloudsim.Config{Seed: 81})
	c.sim.Advance(3 * 24 * time.Hour)
	url := storetest.URL(t)
	addr := freeAddr(t)
	ch := start(t, url, c, "run", "--schedule", "@every 1s", "--listen", addr)
	waitFor(t, 30*time.Second, "three completed cycles", func() bool { return countRuns(t, url, "ok") >= 3 })

	get := func(path string) string {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return string(b)
	}
	if h := get("/healthz"); !strings.Contains(h, `"status":"ok"`) {
		t.Fatalf("healthz: %s", h)
	}
	m := get("/metrics")
	// Every per-target metric names the target: the account (the
	// simulator's, as STS says), the region and the source.
	const target = `account="\d+",%sregion="cn-hangzhou",source="ecs\.DescribeSendFileResults"\}`
	for _, want := range []string{
		`archiver_ingest_runs_total\{` + fmt.Sprintf(target, `outcome="ok",`) + ` \d+`,
		`archiver_events_appended_total\{` + fmt.Sprintf(target, "") + ` [1-9]`,
		`archiver_api_calls_total\{` + fmt.Sprintf(target, "") + ` [1-9]`,
		`archiver_last_success_timestamp_seconds\{` + fmt.Sprintf(target, "") + ` `,
		`archiver_coverage_gap_seconds\{` + fmt.Sprintf(target, "") + ` 0\n`,
		`archiver_stale_after_seconds 43200\n`,
	} {
		if !regexp.MustCompile(want).MatchString(m) {
			t.Errorf("metrics lack %s", want)
		}
	}
	ch.signal(t, syscall.SIGTERM)
	if code := ch.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
