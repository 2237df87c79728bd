package model

// IsKnownStatus reports whether s is a documented per-instance status.
func IsKnownStatus(s Status) bool {
	switch s {
	case StatusPending, StatusInvalid, StatusRunning, StatusAborted,
		StatusSuccess, StatusFailed, StatusError, StatusTimeout:
		return true
	}
	return false
}

// countsAsFailed is the docs' set F: statuses that make the aggregate "Failed".
func countsAsFailed(s Status) bool {
	switch s {
	case StatusInvalid, StatusAborted, StatusFailed, StatusTimeout, StatusError:
		return true
	}
	return false
}

// IsTerminal reports whether s is a final per-instance status.
func IsTerminal(s Status) bool { return s == StatusSuccess || countsAsFailed(s) }

// IsFinalAggregate reports whether an aggregate (InvocationStatus) status is
// final: every instance has finished one way or another. Unknown is not
// final: it means the archive cannot tell.
func IsFinalAggregate(s Status) bool {
	return s == AggregateSuccess || s == AggregateFailed || s == AggregatePartialFailed
}

// Aggregate applies the documented aggregate rule to the statuses of an
// invocation's instances. It is the only Go implementation of the rule; the
// SQL function archive.aggregate_status mirrors it and a property test keeps
// the two equal.
//
// Order of checks: an undocumented status (kept verbatim elsewhere) or an
// empty instance list gives Unknown; then any Pending, then any Running (the
// docs do not say which of the two wins; we follow the order they are listed
// in), then all Success, then all failed, else PartialFailed.
func Aggregate(statuses []Status) Status {
	if len(statuses) == 0 {
		return AggregateUnknown
	}
	var pending, running, success, failed int
	for _, s := range statuses {
		switch {
		case s == StatusPending:
			pending++
		case s == StatusRunning:
			running++
		case s == StatusSuccess:
			success++
		case countsAsFailed(s):
			failed++
		default:
			return AggregateUnknown
		}
	}
	switch {
	case pending > 0:
		return AggregatePending
	case running > 0:
		return AggregateRunning
	case success == len(statuses):
		return AggregateSuccess
	case failed == len(statuses):
		return AggregateFailed
	default:
		return AggregatePartialFailed
	}
}

// LifecycleRank orders statuses along Pending → Running → terminal, so the
// diff can tell which intermediate steps an observation skipped over.
// Undocumented statuses have rank 0: they are never inferred around.
func LifecycleRank(s Status) int {
	switch {
	case s == StatusPending:
		return 1
	case s == StatusRunning:
		return 2
	case IsTerminal(s):
		return 3
	}
	return 0
}
