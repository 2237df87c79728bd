package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/harness"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// Targets of two accounts and two regions each, walked four at a time
// under faults, build the same log as the same cycles walked one target at
// a time. Run under -race (CI does) this is also the proof that concurrent
// SDK calls share nothing unguarded: the SDK keeps one http.Client per
// endpoint and timeouts, whose Timeout every call rewrites.
func TestConcurrentTargetsMatchSerial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	faults := cloudsim.Faults{ThrottleRate: 0.05, ServerErrorRate: 0.05, MalformedRate: 0.02}
	central, err := cloudsim.New(cloudsim.Config{Seed: 401, AccessKeyID: "key-central"})
	if err != nil {
		t.Fatal(err)
	}
	regions := []string{"cn-hangzhou", "cn-shanghai"}
	var workloads []*cloudsim.Sim
	for i, seed := range []int64{402, 403} {
		sim, err := cloudsim.New(cloudsim.Config{Seed: seed, AccessKeyID: "key-workload-" + string(rune('a'+i)),
			SendsPerDay: 200, Regions: regions, Faults: faults,
			Roles: []cloudsim.Role{{Name: "archiver-read", TrustedAccounts: []string{central.Config().AccountID}}}})
		if err != nil {
			t.Fatal(err)
		}
		workloads = append(workloads, sim)
	}
	cloud, err := harness.Serve(append([]*cloudsim.Sim{central}, workloads...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	runner := func(concurrency int) (*ingest.Runner, string) {
		st, url := storetest.Open(t)
		r, err := cloud.Runner(central, st)
		if err != nil {
			t.Fatal(err)
		}
		r.Concurrency = concurrency
		r.API.Retry = source.RetryPolicy{MaxRetries: 20, Base: time.Millisecond, Cap: 5 * time.Millisecond}
		for i, w := range workloads {
			r.Accounts = append(r.Accounts, ingest.Account{Name: "workload-" + string(rune('a'+i)), Regions: regions,
				Role: &source.Role{ARN: "acs:ram::" + w.Config().AccountID + ":role/archiver-read"}})
		}
		return r, url
	}
	concurrent, concurrentURL := runner(4)
	serial, serialURL := runner(1)
	for range 6 {
		for _, w := range workloads {
			w.Advance(8 * time.Hour)
		}
		for _, r := range []*ingest.Runner{concurrent, serial} {
			results, err := r.Once(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != 4 {
				t.Fatalf("%d results for 4 targets", len(results))
			}
		}
	}
	got, want := storetest.Log(t, concurrentURL), storetest.Log(t, serialURL)
	if len(want) == 0 {
		t.Fatal("nothing archived")
	}
	if d := storetest.FirstDifference(got, want); d != "" {
		t.Fatalf("four at a time differs from one at a time: %s", d)
	}
	var sends int
	for _, w := range workloads {
		sends += len(w.Sends())
	}
	var archived int
	if err := concurrent.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM archive.invocations`).Scan(&archived); err != nil {
		t.Fatal(err)
	}
	if archived != sends {
		t.Fatalf("archived %d sends of %d", archived, sends)
	}
}
