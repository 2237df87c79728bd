package store_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// The SQL mirror of the aggregate rule agrees with the Go one on random
// status lists, including empty lists and undocumented statuses.
func TestAggregateSQLMatchesGo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	alphabet := append(append([]model.Status{}, model.InstanceStatuses...), "Stopped", "pending", " Success")
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[model.Status]int{}
	for i := 0; i < 3000; i++ {
		n := rng.IntN(6)
		statuses := make([]model.Status, n)
		for j := range statuses {
			// Weight documented statuses so every aggregate outcome shows up.
			if rng.IntN(12) == 0 {
				statuses[j] = alphabet[rng.IntN(len(alphabet))]
			} else {
				statuses[j] = model.InstanceStatuses[rng.IntN(len(model.InstanceStatuses))]
			}
		}
		want := model.Aggregate(statuses)
		var got model.Status
		if err := s.Pool().QueryRow(ctx, `SELECT archive.aggregate_status($1::text[])`, statuses).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("aggregate_status(%q) = %s, Go says %s", statuses, got, want)
		}
		seen[want]++
	}
	for _, agg := range model.AggregateStatuses {
		if seen[agg] == 0 {
			t.Errorf("random inputs never produced %s; the comparison is not covering it", agg)
		}
	}
}

// Every source's rule in SQL (archive.aggregate_status_for) agrees with
// model.RulesFor's on random status lists drawn from every status any
// source documents, plus undocumented ones; and every outcome of each rule
// is reached, so the comparison covers it.
func TestAggregateForEverySourceSQLMatchesGo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	alphabet := append(append([]model.Status{}, model.CommandInstanceStatuses...), "Finished", "pending", "")
	rng := rand.New(rand.NewPCG(5, 6))
	for _, src := range model.Sources {
		rules, err := model.RulesFor(src)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[model.Status]int{}
		for i := 0; i < 2000; i++ {
			statuses := make([]model.Status, rng.IntN(6))
			for j := range statuses {
				if rng.IntN(12) == 0 {
					statuses[j] = alphabet[rng.IntN(len(alphabet))]
				} else {
					statuses[j] = rules.Statuses[rng.IntN(len(rules.Statuses))]
				}
			}
			want := rules.Aggregate(statuses)
			var got model.Status
			if err := s.Pool().QueryRow(ctx, `SELECT archive.aggregate_status_for($1, $2::text[])`, string(src),
				statuses).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("%s: aggregate_status_for(%q) = %s, Go says %s", src, statuses, got, want)
			}
			seen[want]++
		}
		outcomes := model.AggregateStatuses
		if src == model.SourceCommands || src == model.SourceEFLOCommands {
			outcomes = model.CommandAggregateStatuses
		}
		for _, agg := range outcomes {
			if seen[agg] == 0 {
				t.Errorf("%s: random inputs never produced %s", src, agg)
			}
		}
	}
	var unknown *string
	if err := s.Pool().QueryRow(ctx, `SELECT archive.aggregate_status_for('ecs.DescribeCommands', '{Success}')`).Scan(&unknown); err != nil || unknown != nil {
		t.Fatalf("an unknown source aggregates to %v (%v)", unknown, err)
	}
}
