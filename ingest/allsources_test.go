package ingest_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/harness"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// allSources are every source, as the archive and the simulator name them.
var allSources = []model.SourceID{model.SourceSendFileResults, model.SourceCommands, model.SourceEFLOSendFileResults,
	model.SourceEFLOCommands}

// Two accounts of two regions each, reached through an assumed RAM role,
// every source at once (ECS file sends and commands listed, EFLO send-file
// and command tasks registered as they are created), with faults on: every
// task of every account is archived once, under its own (account, region,
// source) target and under no other, and point-in-time answers equal each
// account's truth, in Go and in SQL.
func TestEverySourceEveryAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	central, err := cloudsim.New(cloudsim.Config{Seed: 501, AccessKeyID: "key-central"})
	if err != nil {
		t.Fatal(err)
	}
	regions := []string{"cn-wulanchabu", "cn-shanghai"}
	faults := cloudsim.Faults{ThrottleRate: 0.05, ServerErrorRate: 0.05, MalformedRate: 0.02}
	accounts := map[string]*cloudsim.Sim{}
	var sims []*cloudsim.Sim
	for i, seed := range []int64{502, 503} {
		sim, err := cloudsim.New(cloudsim.Config{Seed: seed, AccessKeyID: fmt.Sprintf("key-workload-%d", i),
			SendsPerDay: 30, CommandsPerDay: 30, EFLOSendsPerDay: 12, EFLOCommandsPerDay: 12, NodeFleetSize: 8,
			Regions: regions, Faults: faults,
			Roles: []cloudsim.Role{{Name: "archiver-read", TrustedAccounts: []string{central.Config().AccountID}}}})
		if err != nil {
			t.Fatal(err)
		}
		accounts[fmt.Sprintf("workload-%d", i)] = sim
		sims = append(sims, sim)
	}
	cloud, err := harness.Serve(append([]*cloudsim.Sim{central}, sims...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	st, url := storetest.Open(t)
	r, err := cloud.Runner(central, st)
	if err != nil {
		t.Fatal(err)
	}
	// Every call is retried until answered: a cycle must not fail.
	r.API.Retry = source.RetryPolicy{MaxRetries: 40, Base: time.Millisecond, Cap: 2 * time.Millisecond}
	for name, sim := range accounts {
		r.Accounts = append(r.Accounts, ingest.Account{Name: name, Regions: regions, Sources: allSources,
			Role: &source.Role{ARN: "acs:ram::" + sim.Config().AccountID + ":role/archiver-read"}})
	}
	w := &world{sim: central, store: st, url: url, runner: r}
	registered := map[string]time.Time{} // account → tasks created before this are tracked
	for range 12 {
		for _, sim := range append(sims, central) {
			sim.Advance(6 * time.Hour)
		}
		for name, sim := range accounts {
			registerEFLO(t, st, name, sim, registered)
		}
		results, err := r.Once(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := len(accounts) * len(regions) * len(allSources); len(results) != want {
			t.Fatalf("%d results for %d targets", len(results), want)
		}
	}
	for name, sim := range accounts {
		if s := sim.Stats(); s.Throttled+s.ServerErrors+s.Malformed == 0 {
			t.Fatalf("%s: no fault was injected: %+v", name, s)
		}
	}
	checkOneTargetEach(t, st, accounts)
	for name, sim := range accounts {
		w.sim = sim
		for _, src := range allSources {
			checkAccountTruth(t, w, name, src, 80)
		}
	}
	rep, err := (&query.Querier{Store: st}).Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// registerEFLO tracks the account's EFLO tasks created since the last call,
// as the automation that started them would.
func registerEFLO(t *testing.T, st *store.Store, account string, sim *cloudsim.Sim, since map[string]time.Time) {
	t.Helper()
	for _, tk := range sim.EFLOTasks() {
		if tk.CreationTime.Before(since[account]) {
			continue
		}
		src := model.SourceEFLOCommands
		if tk.Send != nil {
			src = model.SourceEFLOSendFileResults
		}
		if _, err := st.Track(context.Background(), account, tk.Region, src, tk.InvokeID); err != nil {
			t.Fatal(err)
		}
	}
	since[account] = sim.Now()
}

// checkOneTargetEach: the archive holds exactly the tasks the accounts
// created, each under its own target.
func checkOneTargetEach(t *testing.T, st *store.Store, accounts map[string]*cloudsim.Sim) {
	t.Helper()
	rows, err := st.Pool().Query(context.Background(), `SELECT t.account, t.region, t.source, i.invoke_id
		FROM archive.invocations i JOIN archive.targets t ON t.id = i.target_id`)
	if err != nil {
		t.Fatal(err)
	}
	archived := map[string][]string{}
	for rows.Next() {
		var account, region, src, id string
		if err := rows.Scan(&account, &region, &src, &id); err != nil {
			t.Fatal(err)
		}
		archived[id] = append(archived[id], account+"/"+region+"/"+src)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	created := 0
	for name, sim := range accounts {
		for _, src := range allSources {
			tasks := sim.Tasks(string(src))
			if len(tasks) < 20 {
				t.Fatalf("%s: only %d %s tasks: the scenario is too small", name, len(tasks), src)
			}
			created += len(tasks)
			for _, tk := range tasks {
				want := []string{name + "/" + tk.Region + "/" + string(src)}
				if got := archived[tk.InvokeID]; !reflect.DeepEqual(got, want) {
					t.Errorf("%s archived under %v, want %v", tk.InvokeID, got, want)
				}
			}
		}
	}
	if len(archived) != created {
		t.Errorf("the archive holds %d tasks, the accounts created %d", len(archived), created)
	}
	t.Logf("%d tasks of %d accounts, each under its own target", created, len(accounts))
}

// checkAccountTruth compares random point-in-time answers about one
// account's tasks of one source with its truth, in Go and in SQL.
func checkAccountTruth(t *testing.T, w *world, account string, src model.SourceID, pairs int) {
	t.Helper()
	tasks := w.sim.Tasks(string(src))
	q := &query.Querier{Store: w.store}
	rng := rand.New(rand.NewPCG(uint64(len(tasks)), 9))
	now, compared := w.sim.Now(), 0
	for range pairs {
		tk := tasks[rng.IntN(len(tasks))]
		at := tk.CreationTime.Add(-time.Hour + time.Duration(rng.Int64N(int64(8*time.Hour)))).Truncate(time.Second)
		if at.After(now) {
			at = now
		}
		if compareTaskAt(t, w, q, src, tk.InvokeID, at) {
			compared++
		}
	}
	if compared < pairs/2 {
		t.Errorf("%s %s: only %d of %d pairs compared", account, src, compared, pairs)
	}
	t.Logf("%s %s: %d tasks, %d point-in-time answers compared with the truth", account, src, len(tasks), compared)
}
