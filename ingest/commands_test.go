package ingest_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
)

// Ten simulated weeks of ECS command runs (one in five periodic) beside file
// sends, polled twice a day: every command task is archived in the command
// target, and every point-in-time answer equals the simulator's truth.
func TestGroundTruthCommands(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Config{Seed: 21, SendsPerDay: 20, CommandsPerDay: 40})
	w.runner.Accounts = []ingest.Account{{Name: "acct", Regions: w.sim.Config().Regions,
		Sources: []model.SourceID{model.SourceSendFileResults, model.SourceCommands}}}
	w.poll(t, 10*week, 12*time.Hour)
	checkTasksAgainstTruth(t, w, cloudsim.SourceCommands, model.SourceCommands, 600, 3)
	checkTasksAgainstTruth(t, w, cloudsim.SourceSendFile, model.SourceSendFileResults, 200, 4)
	checkEveryRun(t, w)

	// The projections equal a rebuild from the log, and every chain verifies.
	ctx := context.Background()
	snapshot := projectionSnapshot(t, w)
	if _, err := w.store.RebuildProjections(ctx); err != nil {
		t.Fatal(err)
	}
	if rebuilt := projectionSnapshot(t, w); !reflect.DeepEqual(snapshot, rebuilt) {
		for i := range snapshot {
			if i >= len(rebuilt) || snapshot[i] != rebuilt[i] {
				t.Errorf("rebuilt projections differ from the incremental ones at row %d:\nincremental %s\nrebuilt     %s",
					i, snapshot[i], at(rebuilt, i))
				break
			}
		}
	}
	rep, err := (&query.Querier{Store: w.store}).Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}

// checkEveryRun: every run the truth has started, periodic ones included,
// is in the log as its instance going Running at the run's start; every
// finished run's output is stored under its SHA-256.
func checkEveryRun(t *testing.T, w *world) {
	t.Helper()
	ctx := context.Background()
	now := w.sim.Now()
	runs, missing, outputs, noOutput, periodic := 0, 0, 0, 0, 0
	for _, ct := range w.sim.Commands() {
		for _, it := range ct.Instances {
			for _, run := range it.Runs {
				if run.Start.After(now) {
					continue
				}
				runs++
				if it.Periodic {
					periodic++
				}
				var n int
				if err := w.store.Pool().QueryRow(ctx, `SELECT count(*) FROM archive.events WHERE invoke_id = $1
					AND instance_id = $2 AND type = 'instance_status_changed' AND to_status = 'Running' AND occurred_at = $3`,
					ct.InvokeID, it.InstanceID, run.Start).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 1 {
					missing++
					if missing <= 5 {
						t.Errorf("%s on %s: run %d (started %s) is in the log %d times", ct.InvokeID, it.InstanceID,
							run.Repeats, run.Start.Format(time.RFC3339), n)
					}
				}
				if run.Finish.IsZero() || run.Finish.After(now) || run.Output == "" {
					continue
				}
				outputs++
				// What the cloud shows: the first 24 KB, Base64-encoded.
				shown := run.Output[:min(len(run.Output), 24*1024)]
				sum := sha256.Sum256([]byte(base64.StdEncoding.EncodeToString([]byte(shown))))
				var found bool
				if err := w.store.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM archive.contents WHERE sha256 = $1)`,
					hex.EncodeToString(sum[:])).Scan(&found); err != nil {
					t.Fatal(err)
				}
				if !found {
					noOutput++
				}
			}
		}
	}
	if missing > 0 || noOutput > 0 {
		t.Errorf("%d of %d runs missing from the log; %d of %d outputs not stored", missing, runs, noOutput, outputs)
	}
	if periodic < 200 {
		t.Errorf("only %d runs of periodic commands: the scenario does not exercise them", periodic)
	}
	t.Logf("%d runs (%d periodic) in the log, %d outputs stored", runs, periodic, outputs)
}

// checkTasksAgainstTruth checks one source's tasks: each archived exactly
// once, under a target of that source, and random (task, instant) pairs
// answered as the truth says, in Go and in SQL.
func checkTasksAgainstTruth(t *testing.T, w *world, simSource string, src model.SourceID, pairs int, seed uint64) {
	t.Helper()
	ctx := context.Background()
	tasks := w.sim.Tasks(simSource)
	if len(tasks) < 100 {
		t.Fatalf("only %d %s tasks: the scenario is too small", len(tasks), simSource)
	}
	var archived, elsewhere int
	if err := w.store.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE t.source = $2), count(*) FILTER (WHERE t.source <> $2)
		FROM archive.invocations i JOIN archive.targets t ON t.id = i.target_id WHERE i.invoke_id = ANY ($1)`,
		taskIDs(tasks), string(src)).Scan(&archived, &elsewhere); err != nil {
		t.Fatal(err)
	}
	if archived != len(tasks) || elsewhere != 0 {
		t.Errorf("%s: %d tasks created, %d archived under their source, %d under another", src, len(tasks), archived, elsewhere)
	}
	now := w.sim.Now()
	q := &query.Querier{Store: w.store}
	rng := rand.New(rand.NewPCG(seed, 7))
	compared := 0
	for i := 0; i < pairs; i++ {
		tk := tasks[rng.IntN(len(tasks))]
		at := tk.CreationTime.Add(-time.Hour + time.Duration(rng.Int64N(int64(now.Sub(tk.CreationTime)+time.Hour))))
		if rng.IntN(3) == 0 {
			at = tk.CreationTime.Add(time.Duration(rng.Int64N(int64(6 * time.Hour))))
		}
		if at.After(now) {
			at = now // the archive knows nothing of the simulator's future
		}
		if compareTaskAt(t, w, q, src, tk.InvokeID, at.Truncate(time.Second)) {
			compared++
		}
	}
	if compared < pairs*2/3 {
		t.Errorf("%s: only %d of %d pairs compared", src, compared, pairs)
	}
	t.Logf("%s: %d tasks, %d point-in-time answers compared with the truth", src, len(tasks), compared)
}

// compareTaskAt compares the archive's answer about one task at at with
// the simulator's truth, in Go and in SQL; compared is false when the task
// did not exist yet (and the archive rightly knows nothing of it).
func compareTaskAt(t *testing.T, w *world, q *query.Querier, src model.SourceID, invokeID string, at time.Time) (compared bool) {
	t.Helper()
	wantAgg, wantInst, exists := w.sim.TaskStatusAt(string(src), invokeID, at)
	got, err := q.Status(context.Background(), invokeID, at, nil)
	switch {
	case !exists && !errors.Is(err, store.ErrNotFound):
		t.Errorf("%s at %s: the task did not exist yet, archive answered %+v, %v", invokeID, at, got, err)
		return false
	case !exists:
		return false
	case err != nil:
		t.Errorf("%s at %s: %v", invokeID, at, err)
		return false
	}
	gotInst := map[string]string{}
	for _, in := range got.Instances {
		gotInst[in.InstanceID] = string(in.Status)
	}
	if string(got.Status) != wantAgg || !reflect.DeepEqual(gotInst, wantInst) {
		t.Errorf("%s %s at %s: archive says %s %v, truth is %s %v", src, invokeID, at.Format(time.RFC3339),
			got.Status, gotInst, wantAgg, wantInst)
	}
	sqlAgg, sqlInst := sqlStatusAt(t, w, invokeID, at)
	for id, v := range sqlInst {
		sqlInst[id], _, _ = strings.Cut(v, "|")
	}
	if sqlAgg != string(got.Status) || !reflect.DeepEqual(sqlInst, gotInst) {
		t.Errorf("%s %s at %s: SQL says %s %v, Go says %s %v", src, invokeID, at.Format(time.RFC3339),
			sqlAgg, sqlInst, got.Status, gotInst)
	}
	return true
}

func taskIDs(tasks []cloudsim.TaskRef) []string {
	out := make([]string, len(tasks))
	for i, tk := range tasks {
		out[i] = tk.InvokeID
	}
	return out
}
