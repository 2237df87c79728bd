package model_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cloudassistant/sendfile-archive/model"
)

func TestAggregateRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		statuses []model.Status
		want     model.Status
	}{
		{"no instances", nil, model.AggregateUnknown},
		{"empty non-nil list", []model.Status{}, model.AggregateUnknown},

		// Rule 1: any Pending.
		{"single pending", []model.Status{"Pending"}, model.AggregatePending},
		{"pending among terminals", []model.Status{"Success", "Failed", "Pending"}, model.AggregatePending},
		// Precedence: rule 1 is checked before rule 2, whatever the order.
		{"pending before running", []model.Status{"Pending", "Running"}, model.AggregatePending},
		{"running before pending", []model.Status{"Running", "Pending"}, model.AggregatePending},
		{"pending running success", []model.Status{"Running", "Success", "Pending", "Timeout"}, model.AggregatePending},

		// Rule 2: no Pending, any Running.
		{"single running", []model.Status{"Running"}, model.AggregateRunning},
		{"running among success", []model.Status{"Success", "Running", "Success"}, model.AggregateRunning},
		{"running among failures", []model.Status{"Invalid", "Running", "Error"}, model.AggregateRunning},

		// Rule 3: every instance Success.
		{"single success", []model.Status{"Success"}, model.AggregateSuccess},
		{"all success", []model.Status{"Success", "Success", "Success"}, model.AggregateSuccess},

		// Rule 4: every instance in F = {Invalid, Aborted, Failed, Timeout, Error}.
		{"invalid", []model.Status{"Invalid"}, model.AggregateFailed},
		{"aborted", []model.Status{"Aborted"}, model.AggregateFailed},
		{"failed", []model.Status{"Failed"}, model.AggregateFailed},
		{"timeout", []model.Status{"Timeout"}, model.AggregateFailed},
		{"error", []model.Status{"Error"}, model.AggregateFailed},
		{"mixed failures", []model.Status{"Invalid", "Aborted", "Failed", "Timeout", "Error"}, model.AggregateFailed},

		// Rule 5: Success and F both present.
		{"success and failed", []model.Status{"Success", "Failed"}, model.AggregatePartialFailed},
		{"invalid and success", []model.Status{"Invalid", "Success", "Success"}, model.AggregatePartialFailed},
		{"success and every failure", []model.Status{"Timeout", "Success", "Error", "Aborted"}, model.AggregatePartialFailed},

		// Undocumented statuses, checked before rule 1.
		{"undocumented alone", []model.Status{"Stopping"}, model.AggregateUnknown},
		{"undocumented with pending", []model.Status{"Pending", "Stopping"}, model.AggregateUnknown},
		{"undocumented before pending", []model.Status{"Stopping", "Pending"}, model.AggregateUnknown},
		{"undocumented with running", []model.Status{"Running", "Stopped"}, model.AggregateUnknown},
		{"undocumented with success", []model.Status{"Success", "Success", "Finished"}, model.AggregateUnknown},
		{"empty string status", []model.Status{"Success", ""}, model.AggregateUnknown},
		{"case matters", []model.Status{"success"}, model.AggregateUnknown},
		{"untrimmed is undocumented", []model.Status{" Pending"}, model.AggregateUnknown},
		{"aggregate-only value", []model.Status{"PartialFailed"}, model.AggregateUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := slices.Clone(tc.statuses)
			if got := model.Aggregate(tc.statuses); got != tc.want {
				t.Errorf("Aggregate(%q) = %q, want %q", tc.statuses, got, tc.want)
			}
			if !slices.Equal(in, tc.statuses) {
				t.Errorf("Aggregate modified its input: %q became %q", in, tc.statuses)
			}
		})
	}
}

// aggregateSpec is the rule of DESIGN.md §2 restated as literally as possible,
// independently of model.Aggregate.
func aggregateSpec(statuses []model.Status) model.Status {
	documented := map[model.Status]bool{
		"Pending": true, "Invalid": true, "Running": true, "Aborted": true,
		"Success": true, "Failed": true, "Error": true, "Timeout": true,
	}
	inF := map[model.Status]bool{"Invalid": true, "Aborted": true, "Failed": true, "Timeout": true, "Error": true}
	if len(statuses) == 0 {
		return "Unknown"
	}
	for _, s := range statuses {
		if !documented[s] {
			return "Unknown"
		}
	}
	if slices.Contains(statuses, "Pending") {
		return "Pending"
	}
	if slices.Contains(statuses, "Running") {
		return "Running"
	}
	allSuccess, allF := true, true
	for _, s := range statuses {
		allSuccess = allSuccess && s == "Success"
		allF = allF && inF[s]
	}
	switch {
	case allSuccess:
		return "Success"
	case allF:
		return "Failed"
	}
	return "PartialFailed"
}

func TestAggregateMatchesSpecOnRandomLists(t *testing.T) {
	t.Parallel()
	pool := append(slices.Clone(model.InstanceStatuses), "Stopping", "", "success", "Unknown")
	r := rand.New(rand.NewPCG(20260301, 1))
	seen := map[model.Status]int{}
	for i := 0; i < 20000; i++ {
		n := r.IntN(7)
		statuses := make([]model.Status, n)
		// Bias towards documented statuses so every rule is reached often;
		// sometimes restrict to a small subset so "all Success"/"all F" occur.
		subset := pool
		switch r.IntN(4) {
		case 0:
			subset = model.InstanceStatuses
		case 1:
			subset = []model.Status{"Success", "Failed", "Timeout"}
		case 2:
			subset = []model.Status{"Invalid", "Aborted", "Error", "Failed", "Timeout"}
		}
		for j := range statuses {
			statuses[j] = subset[r.IntN(len(subset))]
		}
		got, want := model.Aggregate(statuses), aggregateSpec(statuses)
		if got != want {
			t.Fatalf("Aggregate(%q) = %q, spec says %q", statuses, got, want)
		}
		if !slices.Contains(model.AggregateStatuses, got) {
			t.Fatalf("Aggregate(%q) = %q, not listed in AggregateStatuses", statuses, got)
		}
		// The rule is about a set of instances: order must not matter.
		shuffled := slices.Clone(statuses)
		r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if again := model.Aggregate(shuffled); again != got {
			t.Fatalf("Aggregate depends on order: %q → %q, %q → %q", statuses, got, shuffled, again)
		}
		seen[got]++
	}
	for _, a := range model.AggregateStatuses {
		if seen[a] == 0 {
			t.Errorf("generator never produced aggregate %q; the property test is too weak", a)
		}
	}
}

func TestStatusPredicates(t *testing.T) {
	t.Parallel()
	terminal := map[model.Status]bool{"Invalid": true, "Aborted": true, "Success": true, "Failed": true, "Error": true, "Timeout": true}
	rank := map[model.Status]int{"Pending": 1, "Running": 2}
	for _, s := range model.InstanceStatuses {
		if !model.IsKnownStatus(s) {
			t.Errorf("IsKnownStatus(%q) = false for a documented status", s)
		}
		if got := model.IsTerminal(s); got != terminal[s] {
			t.Errorf("IsTerminal(%q) = %v, want %v", s, got, terminal[s])
		}
		want := rank[s]
		if terminal[s] {
			want = 3
		}
		if got := model.LifecycleRank(s); got != want {
			t.Errorf("LifecycleRank(%q) = %d, want %d", s, got, want)
		}
	}
	if len(model.InstanceStatuses) != 8 {
		t.Errorf("InstanceStatuses has %d entries, the docs list 8", len(model.InstanceStatuses))
	}
	for _, s := range []model.Status{"", "Stopping", "pending", "Finished", "PartialFailed", "Unknown", " Success"} {
		if model.IsKnownStatus(s) || model.IsTerminal(s) || model.LifecycleRank(s) != 0 {
			t.Errorf("undocumented %q: IsKnownStatus=%v IsTerminal=%v LifecycleRank=%d, want false false 0",
				s, model.IsKnownStatus(s), model.IsTerminal(s), model.LifecycleRank(s))
		}
	}
}
