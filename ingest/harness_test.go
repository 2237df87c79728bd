package ingest_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/ingest/ecssim"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// world is a simulator served over loopback HTTP, a fresh archive database,
// and a runner that ingests from one into the other through the real SDK.
type world struct {
	sim    *ecssim.Sim
	server *httptest.Server
	store  *store.Store
	runner *ingest.Runner
}

func newWorld(t testing.TB, cfg ecssim.Config) *world {
	t.Helper()
	sim, err := ecssim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	st := storetest.New(t)
	eff := sim.Config()
	cred := staticCredential(t, eff.AccessKeyID, eff.AccessKeySecret)
	w := &world{sim: sim, server: srv, store: st}
	w.runner = &ingest.Runner{Store: st, Regions: eff.Regions, Clock: sim.Now,
		NewSource: func(region string) (ingest.Source, error) {
			return source.NewClient(region, source.Options{Endpoint: srv.URL, Credential: cred,
				Retry: source.RetryPolicy{Base: time.Millisecond, Cap: 10 * time.Millisecond}})
		}}
	return w
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
