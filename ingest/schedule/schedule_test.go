package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/harness"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func healthOf(t *testing.T, h http.Handler) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("healthz body %q: %v", rec.Body.String(), err)
	}
	return rec.Code, body
}

// /healthz follows the last cycles: starting, ok, failing (503, counting the
// failing cycles in a row), and ok again once a cycle succeeds.
func TestHealthFollowsTheLastCycles(t *testing.T) {
	t.Parallel()
	var h health
	ok := []ingest.Result{{Target: store.Target{Region: "cn-a"}}}
	bad := []ingest.Result{{Target: store.Target{Region: "cn-a"}}, {Target: store.Target{Region: "cn-b"}, Err: errors.New("boom")}}
	steps := []struct {
		results     []ingest.Result
		interrupted bool
		code        int
		status      string
	}{
		{nil, true, 200, "starting"},
		{ok, false, 200, "ok"},
		{bad, false, 503, "failing"},
		{bad, false, 503, "failing"},
		{ok, true, 503, "failing"}, // a cycle cut short by shutdown says nothing
		{ok, false, 200, "ok"},
	}
	for i, s := range steps {
		h.record(s.results, s.interrupted)
		code, body := healthOf(t, &h)
		if code != s.code || body["status"] != s.status {
			t.Fatalf("step %d: %d %v, want %d %s", i, code, body, s.code, s.status)
		}
		if i == 3 && (body["failed_cycles"] != float64(2) || body["failures"] == nil) {
			t.Fatalf("step %d: %v, want two failed cycles and the failures", i, body)
		}
	}
}

// A daemon whose every cycle fails says so on /healthz.
func TestDaemonUnhealthyWhenCyclesFail(t *testing.T) {
	t.Parallel()
	sim, err := cloudsim.New(cloudsim.Config{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := harness.Serve(sim)
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	bad, err := cloudsim.New(cloudsim.Config{Seed: 9, AccessKeySecret: "not-the-secret"})
	if err != nil {
		t.Fatal(err)
	}
	runner, err := cloud.Runner(bad, storetest.New(t)) // signs with the wrong secret
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	d := &Daemon{Runner: runner, Schedule: "@every 1h", Listen: addr}
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("healthz still %d %s after failing cycles", resp.StatusCode, body)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A database without the archive schema stops the daemon at once, with the
// sentence every command gives.
func TestDaemonRefusesUnmigratedDatabase(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), storetest.EmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := &Daemon{Runner: &ingest.Runner{Store: st, Regions: []string{"cn-hangzhou"}}, Schedule: "@every 1s"}
	errc := make(chan error, 1)
	go func() { errc <- d.Run(context.Background()) }()
	select {
	case err := <-errc:
		if !errors.Is(err, store.ErrNotMigrated) {
			t.Fatalf("want ErrNotMigrated, got %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon kept running against an unmigrated database")
	}
}
