package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/harness"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// world is a simulator served over loopback HTTP, a fresh archive database,
// and a runner that ingests from one into the other through the real SDK.
type world struct {
	sim    *cloudsim.Sim
	cloud  *harness.Cloud
	url    string
	store  *store.Store
	runner *ingest.Runner
}

func newWorld(t testing.TB, cfg cloudsim.Config) *world {
	t.Helper()
	sim, err := cloudsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := harness.Serve(sim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cloud.Close)
	st, url := storetest.Open(t)
	runner, err := cloud.Runner(sim, st)
	if err != nil {
		t.Fatal(err)
	}
	runner.API.Retry = source.RetryPolicy{Base: time.Millisecond, Cap: 10 * time.Millisecond}
	return &world{sim: sim, cloud: cloud, url: url, store: st, runner: runner}
}

func staticCredential(t testing.TB, id, secret string) credentials.Credential {
	t.Helper()
	typ := "access_key"
	cred, err := credentials.NewCredential(&credentials.Config{Type: &typ, AccessKeyId: &id, AccessKeySecret: &secret})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// poll advances the simulated cloud by every and runs a cycle, until the
// clock has moved by total.
func (w *world) poll(t *testing.T, total, every time.Duration) {
	t.Helper()
	ctx := context.Background()
	end := w.sim.Now().Add(total)
	for w.sim.Now().Before(end) {
		w.sim.Advance(every)
		results, err := w.runner.Once(ctx)
		if err != nil {
			t.Fatalf("cycle at %s: %v", w.sim.Now().Format(time.RFC3339), err)
		}
		for _, r := range results {
			if r.Skipped || !r.Run.CompleteWalk {
				t.Fatalf("cycle at %s did not complete its walk: %+v", w.sim.Now().Format(time.RFC3339), r)
			}
		}
	}
}

func (w *world) eventCount(t *testing.T) int64 {
	t.Helper()
	var n int64
	if err := w.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM archive.events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
