package model

import "fmt"

// Rules is what differs between record sources once their responses are in
// the common model: which per-instance statuses they document, how those
// aggregate into a task's status, which are final, and the order of the
// lifecycle the diff infers skipped steps along. Everything else (the diff,
// the log, the queries, the exports) is shared.
type Rules struct {
	Source SourceID
	// Aggregate is the documented rule over a task's per-instance statuses.
	// Its SQL mirror is archive.aggregate_status_for(source, statuses).
	Aggregate func([]Status) Status
	// IsTerminal reports whether a per-instance status is final.
	IsTerminal func(Status) bool
	// LifecycleRank orders statuses Pending → Running → final; 0 for a
	// status no step is ever inferred around.
	LifecycleRank func(Status) int
	// Statuses lists the documented per-instance statuses.
	Statuses []Status
	// FinalAggregate reports whether a task's overall status is final.
	FinalAggregate func(Status) bool
	// Unfinished are the overall statuses of a task not yet final that
	// the listing can filter by (a head walk refreshes them).
	Unfinished []Status
}

// sendFileRules are ECS's and EFLO's DescribeSendFileResults: the same
// statuses and the same rule in both APIs' docs.
var sendFileRules = Rules{Aggregate: Aggregate, IsTerminal: IsTerminal, LifecycleRank: LifecycleRank,
	Statuses: InstanceStatuses, FinalAggregate: IsFinalAggregate, Unfinished: []Status{AggregatePending, AggregateRunning}}

// commandRules are ECS's and EFLO's DescribeInvocations.
var commandRules = Rules{Aggregate: CommandAggregate, IsTerminal: IsCommandTerminal,
	LifecycleRank: CommandLifecycleRank, Statuses: CommandInstanceStatuses, FinalAggregate: IsFinalCommandAggregate,
	Unfinished: []Status{AggregatePending, AggregateScheduled, AggregateRunning, AggregateStopping}}

// IsFinalCommandAggregate reports whether a command task's overall status
// is final: every instance is done, one way or another.
func IsFinalCommandAggregate(s Status) bool {
	switch s {
	case AggregateSuccess, AggregateFailed, AggregatePartialFailed, AggregateStopped:
		return true
	}
	return false
}

// IsCommand reports whether a record's attributes are a command task's
// (every command listing carries RepeatMode; file sends have none). The
// fold, which sees only events, picks the aggregate rule by it.
func (a Attributes) IsCommand() bool { return a.RepeatMode != "" || a.CommandID != "" }

// AggregateOf applies the aggregate rule of the kind of record attrs
// describe.
func AggregateOf(attrs Attributes, statuses []Status) Status {
	if attrs.IsCommand() {
		return CommandAggregate(statuses)
	}
	return Aggregate(statuses)
}

// RulesFor returns a source's rules; an unknown source is an error (a
// target's source comes from configuration and the database).
func RulesFor(src SourceID) (Rules, error) {
	var r Rules
	switch src {
	case SourceSendFileResults, SourceEFLOSendFileResults:
		r = sendFileRules
	case SourceCommands, SourceEFLOCommands:
		r = commandRules
	default:
		return Rules{}, fmt.Errorf("unknown source %q (known: %v)", src, Sources)
	}
	r.Source = src
	return r, nil
}

// commandGroup is where a documented command status counts in the
// aggregate rule.
type commandGroup int

const (
	groupUndocumented commandGroup = iota
	groupPending
	groupScheduled
	groupRunning
	groupStopping
	groupStopped
	groupSuccess
	groupFailed
)

func commandGroupOf(s Status) commandGroup {
	switch s {
	case StatusPending:
		return groupPending
	case StatusScheduled:
		return groupScheduled
	case StatusRunning:
		return groupRunning
	case StatusStopping:
		return groupStopping
	case StatusStopped, StatusCancelled, StatusTerminated:
		return groupStopped
	case StatusSuccess:
		return groupSuccess
	case StatusInvalid, StatusAborted, StatusFailed, StatusTimeout, StatusError:
		return groupFailed
	}
	return groupUndocumented
}

// CommandAggregate applies the rule the ECS docs give for DescribeInvocations'
// InvocationStatus to a task's per-instance statuses. It is the only Go
// implementation; archive.command_aggregate_status mirrors it and a property
// test keeps the two equal.
//
// In order: no instances or an undocumented status gives Unknown; then any
// Pending, any Scheduled, any Running, any Stopping (the docs list them in
// that order and say "at least one" for each); then, every instance being
// final: all stopped (Cancelled, Terminated, Stopped) gives Stopped; no
// failure gives Success ("at least one Success, the others Stopped or
// Success"); no success gives Failed ("all Stopped or Failed"); else
// PartialFailed. The docs also call Success beside Stopped PartialFailed;
// the Success sentence is the more specific, so it wins.
func CommandAggregate(statuses []Status) Status {
	if len(statuses) == 0 {
		return AggregateUnknown
	}
	var n [groupFailed + 1]int
	for _, s := range statuses {
		g := commandGroupOf(s)
		if g == groupUndocumented {
			return AggregateUnknown
		}
		n[g]++
	}
	switch {
	case n[groupPending] > 0:
		return AggregatePending
	case n[groupScheduled] > 0:
		return AggregateScheduled
	case n[groupRunning] > 0:
		return AggregateRunning
	case n[groupStopping] > 0:
		return AggregateStopping
	case n[groupStopped] == len(statuses):
		return AggregateStopped
	case n[groupFailed] == 0:
		return AggregateSuccess
	case n[groupSuccess] == 0:
		return AggregateFailed
	default:
		return AggregatePartialFailed
	}
}

// IsCommandTerminal reports whether a command's per-instance status is
// final for its current run.
func IsCommandTerminal(s Status) bool {
	g := commandGroupOf(s)
	return g == groupStopped || g == groupSuccess || g == groupFailed
}

// CommandLifecycleRank orders command statuses: waiting (Pending, Scheduled)
// → Running → Stopping → final. A periodic task goes back from final to
// Scheduled between runs, which the diff records as it sees it.
func CommandLifecycleRank(s Status) int {
	switch commandGroupOf(s) {
	case groupPending, groupScheduled:
		return 1
	case groupRunning:
		return 2
	case groupStopping:
		return 3
	case groupStopped, groupSuccess, groupFailed:
		return 4
	}
	return 0
}
