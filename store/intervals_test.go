package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// The intervals of a send whose whole history is in memory are computed in
// Go, not by archive.refresh_send_intervals; for random histories (several
// instances, changes at shared instants and a microsecond apart, documented and
// undocumented statuses, a first event before, at or after the first
// change) of both rules, the refresh recomputes exactly what was stored.
func TestFreshSendIntervalsMatchTheRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	rng := rand.New(rand.NewPCG(21, 5))
	for _, src := range []model.SourceID{model.SourceSendFileResults, model.SourceCommands} {
		target, _, err := st.EnsureTarget(ctx, "", "cn-intervals", src)
		if err != nil {
			t.Fatal(err)
		}
		rules, err := model.RulesFor(src)
		if err != nil {
			t.Fatal(err)
		}
		alphabet := append(append([]model.Status{}, rules.Statuses...), "Finished", "")
		var known []*model.KnownInvocation
		for i := range 400 {
			known = append(known, randomHistory(rng, fmt.Sprintf("s-%s-%d", src, i), alphabet))
		}
		if err := writeFirstEvents(ctx, st, target.ID, known); err != nil {
			t.Fatal(err)
		}
		pr, err := store.PlanProjections(target.ID, known, rules.Aggregate)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.WithPage(ctx, target.ID, 0, func(p *store.Page) error { return p.WriteProjections(ctx, pr) }); err != nil {
			t.Fatal(err)
		}
		stored := readSendIntervals(t, st, target.ID, false)
		if refreshed := readSendIntervals(t, st, target.ID, true); !reflect.DeepEqual(stored, refreshed) || len(stored) < 800 {
			t.Fatalf("%s: %d send intervals stored, the refresh computes %d; first difference:\n%s", src, len(stored),
				len(refreshed), firstDiff(stored, refreshed))
		}
	}
}

// randomHistory is a send folded from its first event: a few instances'
// state changes.
func randomHistory(rng *rand.Rand, id string, alphabet []model.Status) *model.KnownInvocation {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func() time.Time {
		return base.Add(time.Duration(rng.IntN(20))*time.Minute + time.Duration(rng.IntN(3))*time.Microsecond)
	}
	k := model.NewKnownInvocation(id)
	for n := 1 + rng.IntN(12); n > 0; n-- { // a send with no change gets no intervals either way
		k.Changes = append(k.Changes, model.InstanceChange{InstanceID: fmt.Sprintf("i-%d", rng.IntN(4)), At: at(),
			State: model.InstanceState{Status: alphabet[rng.IntN(len(alphabet))], Since: at()}})
	}
	// An instance's changes come in valid-time order.
	sortChanges(k.Changes)
	first := at()
	k.FirstOccurredAt = &first
	return k
}

func sortChanges(cs []model.InstanceChange) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].At.Before(cs[j-1].At); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// writeFirstEvents stores each send's first event, which the refresh reads
// its first instant from.
func writeFirstEvents(ctx context.Context, st *store.Store, targetID int64, known []*model.KnownInvocation) error {
	for i, k := range known {
		_, err := st.Pool().Exec(ctx, `INSERT INTO archive.events (target_id, invoke_id, seq, type, occurred_at,
			recorded_at, evidence, payload, prev_hash, hash, chain_position)
			VALUES ($1, $2, 1, 'invocation_discovered', $3, now(), 'CreationTime', '{}', '\x00', '\x00', $4)`,
			targetID, k.InvokeID, *k.FirstOccurredAt, i+1)
		if err != nil {
			return err
		}
	}
	return nil
}

// readSendIntervals reads a target's send intervals, after recomputing them
// all with archive.refresh_send_intervals when refresh is set (rolled back).
func readSendIntervals(t *testing.T, st *store.Store, targetID int64, refresh bool) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		if refresh {
			if _, err := tx.Exec(ctx, `SELECT archive.refresh_send_intervals($1, array_agg(invoke_id))
				FROM archive.invocations WHERE target_id = $1`, targetID); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, `SELECT invoke_id || ' ' || valid_from || ' ' || coalesce(valid_to::text, 'open') || ' ' || status
			FROM archive.send_intervals WHERE target_id = $1 ORDER BY invoke_id, valid_from`, targetID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		return errRollback
	})
	if err != errRollback {
		t.Fatal(err)
	}
	return out
}

var errRollback = fmt.Errorf("rolled back on purpose")

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return "stored:  " + a[i] + "\nrefresh: " + b[i]
		}
	}
	return "one is a prefix of the other"
}
