package ingest_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
)

const week = 7 * 24 * time.Hour

// Ten simulated weeks against the documented six-week retention, polled twice
// a day, with the documented value quirks switched on.
func TestGroundTruthSixWeekRetention(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Config{Seed: 11, Quirks: true})
	w.poll(t, 10*week, 12*time.Hour)
	checkAgainstTruth(t, w, 600, 1)
}

// The newest SDK's documented window: one day and at most 1,000 records,
// with sends arriving faster than the cap allows, so the cap evicts.
func TestGroundTruthOneDayWindowAndRecordCap(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Config{Seed: 12, Retention: 24 * time.Hour, MaxRecords: 1000, SendsPerDay: 1300, FleetSize: 60})
	w.poll(t, 5*24*time.Hour, 4*time.Hour)
	checkAgainstTruth(t, w, 600, 2)
}

// checkAgainstTruth compares the archive with the simulator's ground truth.
func checkAgainstTruth(t *testing.T, w *world, pairs int, seed uint64) {
	t.Helper()
	ctx := context.Background()
	sends := w.sim.Sends()
	now := w.sim.Now()

	// Every send the cloud ever created is archived, evicted ones included.
	var archived []string
	rows, err := w.store.Pool().Query(ctx, `SELECT invoke_id FROM archive.invocations`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		archived = append(archived, id)
	}
	rows.Close()
	have := map[string]bool{}
	for _, id := range archived {
		have[id] = true
	}
	evicted := 0
	for _, s := range sends {
		if !have[s.InvokeID] {
			t.Errorf("send %s (created %s) is missing from the archive", s.InvokeID, s.CreationTime)
		}
		if !w.sim.Listed(s.Region, s.InvokeID) {
			evicted++
		}
	}
	if len(archived) != len(sends) {
		t.Errorf("archive holds %d sends, the simulator created %d", len(archived), len(sends))
	}
	if evicted < len(sends)/5 {
		t.Fatalf("only %d of %d sends were evicted: the scenario does not exercise retention", evicted, len(sends))
	}
	var expired int
	if err := w.store.Pool().QueryRow(ctx, `SELECT count(*) FROM archive.invocations WHERE expired_at IS NOT NULL`).Scan(&expired); err != nil {
		t.Fatal(err)
	}
	if expired != evicted {
		t.Errorf("archive marked %d sends expired, the simulator evicted %d", expired, evicted)
	}
	// Expiries carry no source timestamp: they are dated by the source's
	// clock (the response's Date header), never the test machine's.
	var offClock int
	if err := w.store.Pool().QueryRow(ctx, `SELECT count(*) FROM archive.events
		WHERE type = 'invocation_source_expired' AND (occurred_at > $1 OR occurred_at < $2)`,
		now, w.sim.Config().Start).Scan(&offClock); err != nil {
		t.Fatal(err)
	}
	if offClock != 0 {
		t.Errorf("%d expiry events are dated outside the simulated period", offClock)
	}
	t.Logf("%d sends created, %d evicted by the cloud, %d events archived", len(sends), evicted, w.eventCount(t))

	// Random (send, instant) pairs: the archive's point-in-time answer, in Go
	// and in SQL, equals the truth, for aggregate and every instance.
	q := &query.Querier{Store: w.store}
	rng := rand.New(rand.NewPCG(seed, 99))
	compared, notYet := 0, 0
	for i := 0; i < pairs; i++ {
		s := sends[rng.IntN(len(sends))]
		span := now.Sub(s.CreationTime) + time.Hour
		at := s.CreationTime.Add(-time.Hour + time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
		if rng.IntN(4) == 0 {
			// Bias towards the first hours, where the transitions are.
			at = s.CreationTime.Add(time.Duration(rng.Int64N(int64(3 * time.Hour)))).Truncate(time.Second)
		}
		if at.After(now) {
			at = now // the archive knows nothing of the simulator's future
		}
		wantAgg, wantInst, exists := w.sim.StatusAt(s.InvokeID, at)
		withErrors(wantInst, s)
		got, err := q.Status(ctx, s.InvokeID, at, nil)
		if !exists {
			notYet++
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s at %s: the send did not exist yet, archive answered %+v, %v", s.InvokeID, at, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s at %s: %v", s.InvokeID, at, err)
			continue
		}
		compared++
		gotInst := map[string]string{}
		for _, in := range got.Instances {
			gotInst[in.InstanceID] = string(in.Status) + "|" + in.ErrorCode + "|" + in.ErrorInfo
		}
		if string(got.Status) != wantAgg || !reflect.DeepEqual(gotInst, wantInst) {
			t.Errorf("%s at %s: archive says %s %v, truth is %s %v", s.InvokeID, at.Format(time.RFC3339),
				got.Status, gotInst, wantAgg, wantInst)
		}
		sqlAgg, sqlInst := sqlStatusAt(t, w, s.InvokeID, at)
		if sqlAgg != string(got.Status) || !reflect.DeepEqual(sqlInst, gotInst) {
			t.Errorf("%s at %s: SQL says %s %v, Go says %s %v", s.InvokeID, at.Format(time.RFC3339),
				sqlAgg, sqlInst, got.Status, gotInst)
		}
		// The same in SQL folded from the events ("as known" far in the
		// future), not from the intervals.
		foldAgg, foldInst := sqlStatusKnownAt(t, w, s.InvokeID, at, now.Add(365*24*time.Hour))
		if foldAgg != sqlAgg || !reflect.DeepEqual(foldInst, sqlInst) {
			t.Errorf("%s at %s: the intervals say %s %v, the events %s %v", s.InvokeID, at.Format(time.RFC3339),
				sqlAgg, sqlInst, foldAgg, foldInst)
		}
	}
	// The fleet report at a few instants counts exactly the truth.
	for _, frac := range []int64{3, 2, 1} {
		at := w.sim.Config().Start.Add(now.Sub(w.sim.Config().Start) / time.Duration(frac)).Add(-time.Minute)
		want := map[string]int64{}
		for _, s := range sends {
			if agg, _, ok := w.sim.StatusAt(s.InvokeID, at); ok {
				want[agg]++
			}
		}
		rows, err := q.Report(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, r := range rows {
			got[string(r.Status)] += r.Sends
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("report at %s: %v, truth %v", at.Format(time.RFC3339), got, want)
		}
	}
	if compared < 500 {
		t.Errorf("only %d pairs compared (want at least 500)", compared)
	}
	t.Logf("%d point-in-time answers compared with the truth (%d instants before creation)", compared, notYet)

	// A cycle over unchanged data appends nothing.
	before := w.eventCount(t)
	if _, err := w.runner.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if after := w.eventCount(t); after != before {
		t.Errorf("a cycle over unchanged data appended %d events", after-before)
	}

	// The projections equal a rebuild from the event log.
	snapshot := projectionSnapshot(t, w)
	if _, err := w.store.RebuildProjections(ctx); err != nil {
		t.Fatal(err)
	}
	if rebuilt := projectionSnapshot(t, w); !reflect.DeepEqual(snapshot, rebuilt) {
		for i := range snapshot {
			if i >= len(rebuilt) || snapshot[i] != rebuilt[i] {
				t.Fatalf("rebuilt projections differ from the incremental ones at row %d:\nincremental %s\nrebuilt     %s",
					i, snapshot[i], at(rebuilt, i))
			}
		}
		t.Fatalf("rebuilt projections have %d rows, incremental %d", len(rebuilt), len(snapshot))
	}

	// Every chain checks out.
	rep, err := q.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Events != w.eventCount(t) {
		t.Fatalf("verify: %+v", rep)
	}
}

// withErrors adds to each instance's true status the error code and info it
// shows then (an outcome shows its error; Pending and Running none), in the
// form the comparisons use: status|code|info.
func withErrors(statuses map[string]string, s cloudsim.SendTruth) {
	for _, it := range s.Instances {
		st, ok := statuses[it.InstanceID]
		if !ok {
			continue
		}
		code, info := "", ""
		if st == it.Final {
			code, info = it.ErrorCode, it.ErrorInfo
		}
		statuses[it.InstanceID] = st + "|" + code + "|" + info
	}
}

func at(rows []string, i int) string {
	if i < len(rows) {
		return rows[i]
	}
	return "<none>"
}

func sqlStatusAt(t *testing.T, w *world, invokeID string, at time.Time) (string, map[string]string) {
	t.Helper()
	return sqlStatusKnownAt(t, w, invokeID, at, time.Time{})
}

// sqlStatusKnownAt asks the SQL functions, as known at knownAt (zero: the
// default, everything recorded).
func sqlStatusKnownAt(t *testing.T, w *world, invokeID string, at, knownAt time.Time) (string, map[string]string) {
	t.Helper()
	ctx := context.Background()
	known := any("infinity")
	if !knownAt.IsZero() {
		known = knownAt
	}
	var agg *string
	if err := w.store.Pool().QueryRow(ctx, `SELECT archive.invocation_status_at($1, $2, $3::timestamptz)`, invokeID, at, known).Scan(&agg); err != nil {
		t.Fatal(err)
	}
	inst := map[string]string{}
	rows, err := w.store.Pool().Query(ctx, `SELECT instance_id, status || '|' || error_code || '|' || error_info
		FROM archive.instance_status_at($1, $2, $3::timestamptz)`, invokeID, at, known)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, status string
		if err := rows.Scan(&id, &status); err != nil {
			t.Fatal(err)
		}
		inst[id] = status
	}
	if agg == nil {
		return "<null>", inst
	}
	return *agg, inst
}

func projectionSnapshot(t *testing.T, w *world) []string {
	t.Helper()
	rows, err := w.store.Pool().Query(context.Background(), `
		SELECT to_jsonb(i)::text FROM archive.invocations i
		UNION ALL SELECT to_jsonb(x)::text FROM archive.instances x
		UNION ALL SELECT to_jsonb(v)::text FROM archive.instance_intervals v
		UNION ALL SELECT to_jsonb(s)::text FROM archive.send_intervals s
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}
