package model

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The docs' sentences for DescribeInvocations' InvocationStatus, one case
// each, written from the docs (not from the implementation).
func TestCommandAggregateDocumentedCases(t *testing.T) {
	cases := []struct {
		in   []Status
		want Status
	}{
		{nil, AggregateUnknown},
		{[]Status{"Finished"}, AggregateUnknown}, // InvokeStatus's vocabulary, not InvocationStatus's
		{[]Status{StatusPending, StatusRunning, StatusSuccess}, AggregatePending},
		{[]Status{StatusScheduled, StatusRunning, StatusFailed}, AggregateScheduled},
		{[]Status{StatusRunning, StatusSuccess, StatusCancelled}, AggregateRunning},
		{[]Status{StatusStopping, StatusSuccess, StatusFailed}, AggregateStopping},
		{[]Status{StatusSuccess, StatusSuccess}, AggregateSuccess},
		{[]Status{StatusSuccess, StatusStopped, StatusTerminated}, AggregateSuccess},
		{[]Status{StatusStopped, StatusFailed}, AggregateFailed},
		{[]Status{StatusInvalid}, AggregateFailed},
		{[]Status{StatusAborted, StatusTimeout, StatusError}, AggregateFailed},
		{[]Status{StatusCancelled, StatusTerminated, StatusStopped}, AggregateStopped},
		{[]Status{StatusSuccess, StatusFailed}, AggregatePartialFailed},
		{[]Status{StatusSuccess, StatusTimeout, StatusCancelled}, AggregatePartialFailed},
	}
	for _, c := range cases {
		if got := CommandAggregate(c.in); got != c.want {
			t.Errorf("CommandAggregate(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}

func randomStatuses(r *rand.Rand, alphabet []Status) []Status {
	out := make([]Status, r.IntN(6))
	for i := range out {
		out[i] = alphabet[r.IntN(len(alphabet))]
	}
	return out
}

// Properties of the command rule over random instance lists: order does not
// matter; the waiting and running states dominate in the documented order;
// and where only statuses both rules document occur, the command rule and
// the send-file rule agree (the docs word them the same way).
func TestCommandAggregateProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := append(slices.Clone(CommandInstanceStatuses), "Finished", "")
	shared := []Status{StatusPending, StatusRunning, StatusSuccess, StatusFailed, StatusInvalid, StatusAborted,
		StatusError, StatusTimeout}
	seen := map[Status]int{}
	for range 20000 {
		in := randomStatuses(r, alphabet)
		got := CommandAggregate(in)
		seen[got]++
		shuffled := slices.Clone(in)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if again := CommandAggregate(shuffled); again != got {
			t.Fatalf("order matters: %v → %s, %v → %s", in, got, shuffled, again)
		}
		if got != AggregateUnknown && len(in) > 0 {
			withPending := append(slices.Clone(in), StatusPending)
			if a := CommandAggregate(withPending); a != AggregatePending {
				t.Fatalf("%v plus Pending → %s", in, a)
			}
		}
		both := randomStatuses(r, shared)
		if a, b := CommandAggregate(both), Aggregate(both); a != b {
			t.Fatalf("on statuses both rules document, %v: command rule %s, send-file rule %s", both, a, b)
		}
	}
	for _, s := range CommandAggregateStatuses {
		if seen[s] == 0 {
			t.Errorf("random inputs never produced %s", s)
		}
	}
}

func TestRulesFor(t *testing.T) {
	for _, src := range Sources {
		r, err := RulesFor(src)
		if err != nil || r.Source != src || r.Aggregate == nil {
			t.Fatalf("RulesFor(%s) = %+v, %v", src, r, err)
		}
		for _, s := range r.Statuses {
			if r.LifecycleRank(s) == 0 {
				t.Errorf("%s: documented status %s has no lifecycle rank", src, s)
			}
		}
	}
	if _, err := RulesFor("ecs.DescribeCommands"); err == nil {
		t.Fatal("an unknown source has rules")
	}
	cmd, _ := RulesFor(SourceEFLOCommands)
	if got := cmd.Aggregate([]Status{StatusCancelled}); got != AggregateStopped {
		t.Fatalf("EFLO commands aggregate Cancelled to %s", got)
	}
	send, _ := RulesFor(SourceEFLOSendFileResults)
	if got := send.Aggregate([]Status{StatusCancelled}); got != AggregateUnknown {
		t.Fatalf("EFLO send-file aggregates the command-only Cancelled to %s", got)
	}
}
