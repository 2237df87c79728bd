package e2e_test

import (
	"io"
	"net"
	"net/http"
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
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
	for _, want := range []string{
		`archiver_ingest_runs_total{outcome="ok",region="cn-hangzhou"}`,
		`archiver_events_appended_total{region="cn-hangzhou"}`,
		`archiver_api_calls_total{region="cn-hangzhou"}`,
		`archiver_last_success_timestamp_seconds{region="cn-hangzhou"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	ch.signal(t, syscall.SIGTERM)
	if code := ch.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
