package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// efloAccount names the configured account of the EFLO worlds.
const efloAccount = "lingjun"

var efloSources = []model.SourceID{model.SourceEFLOSendFileResults, model.SourceEFLOCommands}

// efloWorld is a world whose runner archives EFLO's two tracked sources in
// every region of the simulator, as one configured account, and registers
// each task as automation that started it would.
type efloWorld struct {
	*world
	logs    *syncBuffer
	since   time.Time
	cycles  []time.Time               // when each cycle polled
	regAt   map[string]int            // invoke id → the cycle it was registered before
	sources map[string]model.SourceID // invoke id → its source
}

// syncBuffer is a log sink the runner's goroutines may write at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newEFLOWorld(t *testing.T, cfg cloudsim.Config) *efloWorld {
	t.Helper()
	w := &efloWorld{world: newWorld(t, cfg), logs: &syncBuffer{}, regAt: map[string]int{}, sources: map[string]model.SourceID{}}
	w.since = w.sim.Now()
	w.runner.Accounts = []ingest.Account{{Name: efloAccount, Regions: w.sim.Config().Regions, Sources: efloSources}}
	// Faults are on: retry until the call succeeds, so that every poll is
	// answered and the calls can be counted exactly.
	w.runner.API.Retry = source.RetryPolicy{MaxRetries: 40, Base: time.Millisecond, Cap: 2 * time.Millisecond}
	w.runner.Logger = slog.New(slog.NewTextHandler(w.logs, nil))
	return w
}

// register asks the simulator's control surface for the EFLO tasks
// created since the last call and tracks each, as automation would.
func (w *efloWorld) register(t *testing.T) {
	t.Helper()
	resp, err := http.Get(w.cloud.URL + "/_sim/eflo/tasks?since=" + url.QueryEscape(w.since.Format(time.RFC3339)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tasks []struct {
		Source   string `json:"source"`
		Region   string `json:"region"`
		InvokeID string `json:"invoke_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tasks); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/_sim/eflo/tasks: %d %v", resp.StatusCode, err)
	}
	w.since = w.sim.Now()
	for _, tk := range tasks {
		src := model.SourceID(tk.Source)
		r, err := w.store.Track(context.Background(), efloAccount, tk.Region, src, tk.InvokeID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Created {
			w.regAt[tk.InvokeID] = len(w.cycles)
			w.sources[tk.InvokeID] = src
		}
	}
}

// cycle advances the clock by every, registers the new tasks and runs one
// cycle, which must succeed for every target.
func (w *efloWorld) cycle(t *testing.T, every time.Duration) []ingest.Result {
	t.Helper()
	w.sim.Advance(every)
	w.register(t)
	w.cycles = append(w.cycles, w.sim.Now())
	results, err := w.runner.Once(context.Background())
	if err != nil {
		t.Fatalf("cycle at %s: %v", w.sim.Now().Format(time.RFC3339), err)
	}
	for _, r := range results {
		if r.Skipped || r.Outcome() != model.RunOK {
			t.Fatalf("cycle at %s: %+v", w.sim.Now().Format(time.RFC3339), r)
		}
	}
	return results
}

// tracked returns every tracked task of every target, by invoke id.
func (w *efloWorld) tracked(t *testing.T) map[string]store.TrackedTask {
	t.Helper()
	ctx := context.Background()
	targets, err := w.store.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.TrackedTask{}
	for _, tg := range targets {
		tasks, err := w.store.TrackedTasks(ctx, tg.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range tasks {
			out[tk.InvokeID] = tk
		}
	}
	return out
}

// apiCalls sums the answered calls (calls less retries) of every run.
func (w *efloWorld) apiCalls(t *testing.T) int {
	t.Helper()
	runs, err := w.store.Runs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range runs {
		n += r.APICalls - r.Retries
	}
	return n
}

// truthAggregate is the true overall status of a task at t.
func (w *efloWorld) truthAggregate(id string, at time.Time) string {
	agg, _, _ := w.sim.TaskStatusAt(string(w.sources[id]), id, at)
	return agg
}

// expectedPolls replays the polling policy over the truth: the polls a
// task registered before cycle r gets, and the state it ends in.
func (w *efloWorld) expectedPolls(t *testing.T, id string) (int, store.TrackedState) {
	t.Helper()
	rules, err := model.RulesFor(w.sources[id])
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	polls, state := 0, store.TrackedPolling
	for _, at := range w.cycles[w.regAt[id]:] {
		polls++
		switch final := rules.FinalAggregate(model.Status(w.truthAggregate(id, at))); {
		case !final:
			state = store.TrackedPolling
		case state == store.TrackedConfirming:
			return polls, store.TrackedDone
		default:
			state = store.TrackedConfirming
		}
	}
	return polls, state
}

// EFLO send-file and command tasks, registered as they are created over
// three simulated days with faults on and the documented quirks, polled
// every cycle: each task is polled until its status is final plus one
// confirming poll and never again, and the archive's point-in-time answers
// equal the truth.
func TestTrackedEFLOGroundTruth(t *testing.T) {
	t.Parallel()
	w := newEFLOWorld(t, cloudsim.Config{Seed: 31, Quirks: true, EFLOSendsPerDay: 24, EFLOCommandsPerDay: 24,
		NodeFleetSize: 10, Regions: []string{"cn-wulanchabu", "cn-shanghai"}})
	faults := cloudsim.FaultPlan(0.2)
	faults.SlowRate = 0
	w.sim.SetFaults(faults)
	for w.sim.Now().Before(w.sim.Config().Start.Add(3 * 24 * time.Hour)) {
		w.cycle(t, 20*time.Minute)
	}
	if st := w.sim.Stats(); st.Throttled+st.ServerErrors+st.Malformed+st.Garbage == 0 {
		t.Fatalf("no fault was injected: %+v", st)
	}
	tracked := w.tracked(t)
	if len(tracked) != len(w.sim.EFLOTasks()) || len(tracked) < 100 {
		t.Fatalf("%d tasks tracked, the simulator created %d", len(tracked), len(w.sim.EFLOTasks()))
	}
	polls, done := 0, 0
	for id, tk := range tracked {
		wantPolls, wantState := w.expectedPolls(t, id)
		if tk.Polls != wantPolls || tk.State != wantState || tk.Misses != 0 {
			t.Errorf("%s %s: %d polls, %s; want %d polls, %s", w.sources[id], id, tk.Polls, tk.State, wantPolls, wantState)
		}
		if tk.State == store.TrackedDone {
			done++
		}
		polls += tk.Polls
	}
	if calls := w.apiCalls(t); calls != polls {
		t.Errorf("the runs made %d answered calls, the tasks were polled %d times", calls, polls)
	}
	if done < len(tracked)*9/10 {
		t.Fatalf("only %d of %d tasks finished: the scenario does not exercise the confirming poll", done, len(tracked))
	}
	t.Logf("%d tasks tracked (%d done), %d polls; simulator %+v", len(tracked), done, polls, w.sim.Stats())
	checkTrackedTruth(t, w, 600)

	// Once every task is done, a cycle costs no calls and records nothing.
	w.sim.SetFaults(cloudsim.Faults{})
	for i := 0; len(w.unfinished(t)) > 0; i++ {
		if i == 10 {
			t.Fatalf("tasks still polled after 60 more hours: %v", w.unfinished(t))
		}
		w.sim.Advance(6 * time.Hour)
		w.since = w.sim.Now() // nothing new is registered
		if _, err := w.runner.Once(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	calls, events := w.apiCalls(t), w.eventCount(t)
	w.sim.Advance(time.Hour)
	if _, err := w.runner.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.apiCalls(t) != calls || w.eventCount(t) != events {
		t.Errorf("a cycle with every task done made %d calls and recorded %d events", w.apiCalls(t)-calls, w.eventCount(t)-events)
	}
	rep, err := (&query.Querier{Store: w.store}).Verify(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

func (w *efloWorld) unfinished(t *testing.T) []string {
	t.Helper()
	var out []string
	for id, tk := range w.tracked(t) {
		if !tk.State.Finished() {
			out = append(out, id)
		}
	}
	return out
}

// checkTrackedTruth compares the archive's point-in-time answers with the
// truth: every task at the last poll, and random (task, instant) pairs, in
// Go and in SQL.
func checkTrackedTruth(t *testing.T, w *efloWorld, pairs int) {
	t.Helper()
	ctx := context.Background()
	q := &query.Querier{Store: w.store}
	now := w.sim.Now()
	tasks := w.sim.EFLOTasks()
	rng := rand.New(rand.NewPCG(7, 31))
	check := func(tk cloudsim.EFLOTaskTruth, at time.Time) bool {
		src := string(w.sources[tk.InvokeID])
		wantAgg, want, exists := w.sim.TaskStatusAt(src, tk.InvokeID, at)
		if tk.Send != nil {
			withErrors(want, *tk.Send)
		}
		got, err := q.Status(ctx, tk.InvokeID, at, nil)
		if !exists {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s at %s: the task did not exist yet, archive answered %+v, %v", tk.InvokeID, at, got, err)
			}
			return false
		}
		if err != nil {
			t.Errorf("%s at %s: %v", tk.InvokeID, at, err)
			return false
		}
		gotInst := map[string]string{}
		for _, in := range got.Instances {
			gotInst[in.InstanceID] = string(in.Status)
			if tk.Send != nil {
				gotInst[in.InstanceID] += "|" + in.ErrorCode + "|" + in.ErrorInfo
			}
		}
		if string(got.Status) != wantAgg || !reflect.DeepEqual(gotInst, want) {
			t.Errorf("%s %s at %s: archive says %s %v, truth is %s %v", src, tk.InvokeID, at.Format(time.RFC3339),
				got.Status, gotInst, wantAgg, want)
		}
		if sqlAgg, _ := sqlStatusAt(t, w.world, tk.InvokeID, at); sqlAgg != string(got.Status) {
			t.Errorf("%s %s at %s: SQL says %s, Go says %s", src, tk.InvokeID, at.Format(time.RFC3339), sqlAgg, got.Status)
		}
		return true
	}
	last := w.cycles[len(w.cycles)-1]
	for _, tk := range tasks {
		check(tk, last) // the events end with the truth's statuses
	}
	compared := 0
	for range pairs {
		tk := tasks[rng.IntN(len(tasks))]
		at := tk.CreationTime.Add(-10*time.Minute + time.Duration(rng.Int64N(int64(3*time.Hour)))).Truncate(time.Second)
		if at.After(now) {
			at = now
		}
		if check(tk, at) {
			compared++
		}
	}
	if compared < pairs/2 {
		t.Errorf("only %d of %d pairs compared", compared, pairs)
	}
	t.Logf("%d tasks checked at the last poll, %d random instants compared", len(tasks), compared)
}

// An InvokeId the source does not know is polled a bounded number of
// times, reported once in one sentence, and affects no other task or
// target.
func TestTrackedUnknownInvokeID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newEFLOWorld(t, cloudsim.Config{Seed: 32, EFLOSendsPerDay: 24, EFLOCommandsPerDay: 24, NodeFleetSize: 6,
		Regions: []string{"cn-wulanchabu", "cn-shanghai"}})
	const bogus = "t-doesnotexist00"
	w.sim.Advance(time.Minute)
	r, err := w.store.Track(ctx, efloAccount, "cn-wulanchabu", model.SourceEFLOSendFileResults, bogus)
	if err != nil || !r.Created {
		t.Fatal(r, err)
	}
	w.sources[bogus], w.regAt[bogus] = model.SourceEFLOSendFileResults, 0
	for range ingest.MaxTrackedMisses + 4 {
		w.cycle(t, 30*time.Minute)
	}
	tracked := w.tracked(t)
	got := tracked[bogus]
	if got.State != store.TrackedNotFound || got.Polls != ingest.MaxTrackedMisses || got.Misses != ingest.MaxTrackedMisses ||
		got.FinishedAt == nil || got.FoundAt != nil {
		t.Errorf("the unknown task: %+v", got)
	}
	lines := linesWith(w.logs.String(), bogus)
	if len(lines) != 1 {
		t.Fatalf("%d log lines name the unknown task, want one:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, want := range []string{"not found", efloAccount, "cn-wulanchabu", string(model.SourceEFLOSendFileResults), "no longer polled"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("the log line does not say %q: %s", want, lines[0])
		}
	}
	polls, done := 0, 0
	for id, tk := range tracked {
		polls += tk.Polls
		if id == bogus {
			continue
		}
		if wantPolls, wantState := w.expectedPolls(t, id); tk.Polls != wantPolls || tk.State != wantState {
			t.Errorf("%s: %d polls, %s; want %d polls, %s", id, tk.Polls, tk.State, wantPolls, wantState)
		}
		if tk.State == store.TrackedDone {
			done++
		}
	}
	if calls := w.apiCalls(t); calls != polls || done == 0 {
		t.Errorf("%d answered calls, %d polls, %d other tasks done", calls, polls, done)
	}
}

// linesWith returns the lines of logs that mention s.
func linesWith(logs, s string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// fakeTracked is a tracked source with a function field, for unit tests.
type fakeTracked struct {
	lookup func(id string) (source.Page, error)
}

func (f fakeTracked) Lookup(_ context.Context, id string) (source.Page, source.Stats, error) {
	p, err := f.lookup(id)
	return p, source.Stats{Calls: 1}, err
}

func fakeSend(id string, status model.Status, at time.Time) source.Page {
	ts := at.Format(time.RFC3339)
	node := map[string]any{"NodeId": "e01-n1", "InvocationStatus": string(status), "CreationTime": ts, "UpdateTime": ts}
	if status != model.StatusPending {
		node["StartTime"] = ts
	}
	if model.IsTerminal(status) {
		node["FinishTime"] = ts
	}
	inv := model.Invocation{InvokeID: id, ReportedStatus: status, Raw: map[string]any{"InvocationStatus": string(status), "CreationTime": ts},
		Instances: []model.Instance{model.InstanceFromRaw(node)}}
	inv.Attributes = model.AttributesFromRaw(inv.Raw, source.SHA256Hex(""))
	return source.Page{ServedAt: at, Invocations: []model.Invocation{inv}}
}

// One task whose polls fail does not keep the others from being polled
// and recorded; the run says it failed. A task seen and then gone is
// recorded as expired and no longer polled.
func TestTrackerOneTaskFailing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	for _, id := range []string{"t-broken", "t-fine", "t-vanishing"} {
		if _, err := st.Track(ctx, efloAccount, "cn-wulanchabu", model.SourceEFLOSendFileResults, id); err != nil {
			t.Fatal(err)
		}
	}
	target, _, err := st.EnsureTarget(ctx, efloAccount, "cn-wulanchabu", model.SourceEFLOSendFileResults)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	polls := 0
	src := fakeTracked{lookup: func(id string) (source.Page, error) {
		switch id {
		case "t-broken":
			return source.Page{}, errors.New("InvalidParameter: the source refused the request")
		case "t-fine":
			return fakeSend(id, model.StatusSuccess, now), nil
		}
		polls++
		if polls > 1 {
			return source.Page{ServedAt: now}, nil
		}
		return fakeSend(id, model.StatusRunning, now), nil
	}}
	logs := &syncBuffer{}
	tr := &ingest.Tracker{Store: st, Target: target, Source: src, Clock: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(logs, nil))}
	for i := range 3 {
		now = now.Add(10 * time.Minute)
		run, err := tr.Run(ctx)
		if err == nil || run.Outcome != model.RunFailed || !strings.Contains(run.Error, "1 of") || !strings.Contains(err.Error(), "t-broken") {
			t.Fatalf("run %d: %+v %v", i, run, err)
		}
	}
	tasks, err := st.TrackedTasks(ctx, target.ID)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, tk := range tasks {
		states[tk.InvokeID] = string(tk.State)
	}
	want := map[string]string{"t-broken": "polling", "t-fine": "done", "t-vanishing": "expired"}
	if !reflect.DeepEqual(states, want) {
		t.Fatalf("states %v, want %v", states, want)
	}
	var expired int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM archive.events WHERE invoke_id = 't-vanishing' AND type = $1`,
		model.EventSourceExpired).Scan(&expired); err != nil || expired != 1 {
		t.Fatalf("%d expiry events for the vanished task (%v)", expired, err)
	}
	if n := strings.Count(logs.String(), "could not be polled"); n != 3 {
		t.Errorf("%d warnings about the failing task, want one per run:\n%s", n, logs.String())
	}
	if n := len(linesWith(logs.String(), "t-vanishing")); n != 1 {
		t.Errorf("the vanished task is logged %d times, want once:\n%s", n, logs.String())
	}
}

// A tracked target whose lease another archiver holds is left alone: no
// run is recorded and nothing is polled.
func TestTrackerLeaseHeld(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	r, err := st.Track(ctx, efloAccount, "cn-wulanchabu", model.SourceEFLOCommands, "t-leased")
	if err != nil {
		t.Fatal(err)
	}
	lease, ok, err := st.TryLease(ctx, r.Target.ID)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	defer lease.Release(ctx)
	src := fakeTracked{lookup: func(id string) (source.Page, error) {
		t.Errorf("%s was polled while another archiver held the lease", id)
		return source.Page{}, nil
	}}
	_, err = (&ingest.Tracker{Store: st, Target: r.Target, Source: src}).Run(ctx)
	if !errors.Is(err, ingest.ErrLeaseHeld) {
		t.Fatalf("Run with the lease held elsewhere: %v", err)
	}
	if runs, err := st.Runs(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("runs recorded: %+v %v", runs, err)
	}
}

// Ten simulated weeks of EFLO send-file and command tasks, registered as
// they are created and polled every six hours, with faults and the
// documented quirks on: long after the cloud evicted them, every task's
// point-in-time answers equal the truth.
func TestTrackedEFLOTenWeeks(t *testing.T) {
	t.Parallel()
	w := newEFLOWorld(t, cloudsim.Config{Seed: 32, Quirks: true, EFLOSendsPerDay: 8, EFLOCommandsPerDay: 8,
		NodeFleetSize: 8, Regions: []string{"cn-wulanchabu", "cn-shanghai"}})
	faults := cloudsim.FaultPlan(0.1)
	faults.SlowRate = 0
	w.sim.SetFaults(faults)
	for w.sim.Now().Before(w.sim.Config().Start.Add(10 * week)) {
		w.cycle(t, 6*time.Hour)
	}
	tasks := w.sim.EFLOTasks()
	if len(w.tracked(t)) != len(tasks) || len(tasks) < 1000 {
		t.Fatalf("%d tasks tracked, the simulator created %d", len(w.tracked(t)), len(tasks))
	}
	evicted := 0
	for _, tk := range tasks {
		src := cloudsim.SourceEFLOCommands
		if tk.Send != nil {
			src = cloudsim.SourceEFLOSendFile
		}
		if !w.sim.TaskListed(src, tk.Region, tk.InvokeID) {
			evicted++
		}
	}
	if evicted < len(tasks)/4 {
		t.Fatalf("only %d of %d tasks evicted: the scenario does not outlast the retention", evicted, len(tasks))
	}
	t.Logf("%d tasks, %d no longer served by the cloud", len(tasks), evicted)
	checkTrackedTruth(t, w, 800)
	rep, err := (&query.Querier{Store: w.store}).Verify(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}
