package ingest_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/model"
)

// The send intervals of a send new to the archive are computed in Go
// while its page is stored; archive.refresh_send_intervals, the
// definition analysts read, computes them from the stored instance
// intervals. After every cycle of a send-file world with quirks and faults
// and of a command world with repeating tasks (sends new on each page,
// sends that change across pages, expiries), recomputing every send's
// intervals with the SQL function changes nothing. (Both worlds archive
// send-file results and commands, each in its own target.)
func TestFreshSendIntervalsMatchTheRefresh(t *testing.T) {
	t.Parallel()
	for _, cfg := range []cloudsim.Config{
		{Seed: 41, SendsPerDay: 150, Quirks: true, Faults: cloudsim.Faults{ThrottleRate: 0.05, ServerErrorRate: 0.05}},
		{Seed: 42, SendsPerDay: 10, CommandsPerDay: 60, Retention: 4 * 24 * time.Hour},
	} {
		w := newWorld(t, cfg)
		w.runner.Accounts = []ingest.Account{{Name: "acct", Regions: w.sim.Config().Regions,
			Sources: []model.SourceID{model.SourceSendFileResults, model.SourceCommands}}}
		ctx := context.Background()
		sends := 0
		for cycle := range 10 {
			w.sim.Advance(17 * time.Hour)
			_, _ = w.runner.Once(ctx) // a cycle a fault cut short is caught up by the next
			incremental := sendIntervals(t, w, false)
			if refreshed := sendIntervals(t, w, true); !reflect.DeepEqual(incremental, refreshed) {
				t.Fatalf("seed %d, cycle %d: the send intervals stored differ from the refresh's:\n%v\n%v",
					cfg.Seed, cycle, firstDifference(incremental, refreshed), len(incremental))
			}
			sends = len(incremental)
		}
		if sends < 1000 {
			t.Fatalf("seed %d: only %d send intervals to compare", cfg.Seed, sends)
		}
	}
}

// sendIntervals reads every send interval, after recomputing them all with
// archive.refresh_send_intervals when refresh is set (in a transaction
// rolled back after reading).
func sendIntervals(t *testing.T, w *world, refresh bool) []string {
	t.Helper()
	ctx := context.Background()
	tx, err := w.store.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if refresh {
		_, err := tx.Exec(ctx, `SELECT archive.refresh_send_intervals(t.id, array_agg(i.invoke_id))
			FROM archive.targets t JOIN archive.invocations i ON i.target_id = t.id GROUP BY t.id`)
		if err != nil {
			t.Fatal(err)
		}
	}
	rows, err := tx.Query(ctx, `SELECT to_jsonb(s)::text FROM archive.send_intervals s ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// firstDifference names the first row two sorted lists disagree on.
func firstDifference(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return "stored: " + a[i] + "\nrefresh: " + b[i]
		}
	}
	return "one list is longer"
}
