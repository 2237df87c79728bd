package query_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/harness"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// archive fills a fresh database with a few simulated days and returns it
// with its URL.
func archive(t *testing.T) (*store.Store, string) {
	t.Helper()
	sim, err := cloudsim.New(cloudsim.Config{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := harness.Serve(sim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cloud.Close)
	st, url := storetest.Open(t)
	r, err := cloud.Runner(sim, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := harness.Poll(context.Background(), sim, r, 3*24*time.Hour, 12*time.Hour); err != nil {
		t.Fatal(err)
	}
	return st, url
}

// The event table refuses UPDATE, DELETE and TRUNCATE to everyone the
// trigger applies to.
func TestEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	st, _ := archive(t)
	ctx := context.Background()
	for _, stmt := range []string{
		`UPDATE archive.events SET to_status = 'Success' WHERE id = (SELECT min(id) FROM archive.events)`,
		`DELETE FROM archive.events WHERE id = (SELECT min(id) FROM archive.events)`,
		`TRUNCATE archive.events CASCADE`,
	} {
		_, err := st.Pool().Exec(ctx, stmt)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: want refusal, got %v", stmt, err)
		}
	}
}

// verify passes on an honest archive and names the first bad event for each
// kind of tampering a superuser with triggers disabled can do.
func TestVerifyNamesFirstTamperedEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name   string
		tamper string // %d: the victim's id
		want   string
		victim func(id int64) int64 // which event verify must name
		// victimSQL, when set, finds that event instead (%d: the victim's
		// id), before the tampering.
		victimSQL string
	}{
		{"changed field", `UPDATE archive.events SET to_status = 'Failed' WHERE id = %d`, "altered", same, ""},
		{"changed payload", `UPDATE archive.events SET payload = payload || '{"x":1}' WHERE id = %d`, "altered", same, ""},
		{"changed hash", `UPDATE archive.events SET hash = sha256(hash) WHERE id = %d`, "altered", same, ""},
		{"deleted event", `DELETE FROM archive.events WHERE id = %d`, "removed, inserted or moved", next, ""},
		{"swapped events", `CREATE TEMP TABLE o AS SELECT * FROM archive.events WHERE id IN (%[1]d, %[1]d + 1);
			UPDATE archive.events SET seq = -seq WHERE id IN (%[1]d, %[1]d + 1);
			UPDATE archive.events e SET invoke_id = o.invoke_id, instance_id = o.instance_id, seq = o.seq, type = o.type,
			from_status = o.from_status, to_status = o.to_status, occurred_at = o.occurred_at, recorded_at = o.recorded_at,
			evidence = o.evidence, run_id = o.run_id, detail = o.detail, payload = o.payload, prev_hash = o.prev_hash, hash = o.hash
			FROM o WHERE (e.id, o.id) IN ((%[1]d, %[1]d + 1), (%[1]d + 1, %[1]d))`, "removed, inserted or moved", same, ""},
		{"inserted event", `INSERT INTO archive.events (target_id, invoke_id, seq, type, occurred_at, recorded_at, evidence, payload, prev_hash, hash, chain_position)
			SELECT target_id, invoke_id, 1000, type, occurred_at, recorded_at, evidence, payload, prev_hash, hash,
			       (SELECT max(chain_position) + 1 FROM archive.events) FROM archive.events WHERE id = %d`,
			"removed, inserted or moved", none, ""},
		// No foreign key guards events.target_id (migration 18); with the
		// triggers that refuse it disabled, a target can lose its events.
		{"deleted target", `DELETE FROM archive.targets WHERE id = (SELECT target_id FROM archive.events WHERE id = %d)`,
			"names no target", first, ""},
		// Nor does one guard events.run_id (migration 19): with the
		// triggers disabled, a run with events can be deleted.
		{"deleted run", `DELETE FROM archive.ingest_runs WHERE id = (SELECT run_id FROM archive.events WHERE id = %d)`,
			"names no ingest run", nil,
			`SELECT min(id) FROM archive.events WHERE run_id = (SELECT run_id FROM archive.events WHERE id = %d)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, url := archive(t)
			q := &query.Querier{Store: st}
			rep, err := q.Verify(ctx)
			if err != nil || !rep.OK() || rep.Events == 0 {
				t.Fatalf("honest archive does not verify: %+v %v", rep, err)
			}
			var victim int64
			if err := st.Pool().QueryRow(ctx, `SELECT id FROM archive.events ORDER BY id OFFSET (SELECT count(*) / 2 FROM archive.events) LIMIT 1`).Scan(&victim); err != nil {
				t.Fatal(err)
			}
			admin, err := pgx.Connect(ctx, storetest.AdminURL(t, url))
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close(ctx)
			if _, err := admin.Exec(ctx, `SET session_replication_role = replica`); err != nil {
				t.Fatal(err)
			}
			var want int64
			if tc.victimSQL != "" {
				if err := admin.QueryRow(ctx, sprintf(tc.victimSQL, victim)).Scan(&want); err != nil {
					t.Fatal(err)
				}
			} else {
				want = tc.victim(victim)
			}
			if _, err := admin.Exec(ctx, strings.ReplaceAll(sprintf(tc.tamper, victim), "\n", " ")); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			rep, err = q.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatal("verify did not notice")
			}
			p := rep.Problems[0]
			if !strings.Contains(p.Reason, tc.want) {
				t.Fatalf("reason %q, want it to say %q", p.Reason, tc.want)
			}
			if want != 0 && p.EventID != want {
				t.Fatalf("verify named event %d, the first affected is %d", p.EventID, want)
			}
		})
	}
}

func same(id int64) int64 { return id }
func next(id int64) int64 { return id + 1 }
func none(int64) int64    { return 0 }
func first(int64) int64   { return 1 } // the chain's first event: the archive has one target, written without a retried page

// A target whose chain holds events cannot be deleted, nor its id changed,
// even by the archive's owner: the triggers of migration 18 stand where the
// foreign key from events.target_id stood. A target with no events can.
func TestTargetsWithEventsStay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, url := archive(t)
	admin, err := pgx.Connect(ctx, storetest.AdminURL(t, url))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var id int64
	if err := admin.QueryRow(ctx, `SELECT target_id FROM archive.events LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DELETE FROM archive.targets WHERE id = $1`,
		`UPDATE archive.targets SET id = DEFAULT WHERE id = $1`, // an identity column: DEFAULT is the only new id
	} {
		// The trigger runs before the foreign keys of the other tables that
		// name targets, so its refusal is the one reported.
		tx, err := admin.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, stmt, id)
		_ = tx.Rollback(ctx)
		if err == nil || !strings.Contains(err.Error(), "has archived events") {
			t.Errorf("%s: want refusal naming the archived events, got %v", stmt, err)
		}
	}
	// Nor can the runs of a target with events go, or move (migration 19,
	// where the foreign key from events.run_id stood).
	var run int64
	if err := admin.QueryRow(ctx, `SELECT run_id FROM archive.events WHERE target_id = $1 LIMIT 1`, id).Scan(&run); err != nil {
		t.Fatal(err)
	}
	empty, _, err := st.EnsureTarget(ctx, "default", "cn-nowhere", model.SourceSendFileResults)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DELETE FROM archive.ingest_runs WHERE id = $1`,
		`UPDATE archive.ingest_runs SET id = DEFAULT WHERE id = $1`,
		`UPDATE archive.ingest_runs SET target_id = $2 WHERE id = $1`,
		`TRUNCATE archive.ingest_runs CASCADE`,
	} {
		tx, err := admin.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		args := []any{run, empty.ID}[:strings.Count(stmt, "$")]
		_, err = tx.Exec(ctx, stmt, args...)
		_ = tx.Rollback(ctx)
		if err == nil || !strings.Contains(err.Error(), "archived events") {
			t.Errorf("%s: want refusal naming the archived events, got %v", stmt, err)
		}
	}
	emptyRun, err := st.StartRun(ctx, empty.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `DELETE FROM archive.ingest_runs WHERE id = $1`, emptyRun); err != nil {
		t.Fatalf("a run of a target with no events: %v", err)
	}
	if _, err := admin.Exec(ctx, `DELETE FROM archive.targets WHERE id = $1`, empty.ID); err != nil {
		t.Fatalf("a target with no events: %v", err)
	}
}
