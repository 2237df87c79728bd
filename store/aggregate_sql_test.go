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
