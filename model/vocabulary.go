package model

// The archive's vocabulary, typed and in one place: the statuses sources
// report, the event types and evidence values the log records, the outcomes
// of ingest runs, and the sources the archive knows. The values are part of
// the archive's public SQL surface and of exports; names may be added, never
// changed.

// Status is a status as a source reports it: a per-instance status, or an
// invocation's aggregate (the cloud's reported one or the derived one). The
// two share a type because events carry both in from_status/to_status.
// Undocumented values are kept verbatim.
type Status string

// Per-instance statuses documented for DescribeSendFileResults.
const (
	StatusPending Status = "Pending"
	StatusInvalid Status = "Invalid"
	StatusRunning Status = "Running"
	StatusAborted Status = "Aborted"
	StatusSuccess Status = "Success"
	StatusFailed  Status = "Failed"
	StatusError   Status = "Error"
	StatusTimeout Status = "Timeout"
)

// Per-instance statuses documented only for commands (ECS and EFLO
// DescribeInvocations), besides the send-file ones above, which commands
// share. Cancelled, Terminated and Stopped count as stopped for the
// aggregate.
const (
	StatusScheduled  Status = "Scheduled"
	StatusStopping   Status = "Stopping"
	StatusStopped    Status = "Stopped"
	StatusCancelled  Status = "Cancelled"
	StatusTerminated Status = "Terminated"
)

// Aggregate statuses. AggregateUnknown is the archive's own: it stands for an
// invocation with no instances or with an instance status the docs do not list.
const (
	AggregatePending       Status = "Pending"
	AggregateRunning       Status = "Running"
	AggregateSuccess       Status = "Success"
	AggregateFailed        Status = "Failed"
	AggregatePartialFailed Status = "PartialFailed"
	AggregateUnknown       Status = "Unknown"
)

// Aggregate statuses that only commands have.
const (
	AggregateScheduled Status = "Scheduled"
	AggregateStopping  Status = "Stopping"
	AggregateStopped   Status = "Stopped"
)

// InstanceStatuses lists every documented per-instance status of send-file
// sources.
var InstanceStatuses = []Status{
	StatusPending, StatusInvalid, StatusRunning, StatusAborted,
	StatusSuccess, StatusFailed, StatusError, StatusTimeout,
}

// AggregateStatuses lists every value Aggregate can return.
var AggregateStatuses = []Status{
	AggregatePending, AggregateRunning, AggregateSuccess,
	AggregateFailed, AggregatePartialFailed, AggregateUnknown,
}

// CommandInstanceStatuses lists every documented per-instance status of
// command sources.
var CommandInstanceStatuses = []Status{
	StatusPending, StatusScheduled, StatusRunning, StatusStopping, StatusStopped, StatusSuccess, StatusFailed,
	StatusError, StatusTimeout, StatusCancelled, StatusTerminated, StatusInvalid, StatusAborted,
}

// CommandAggregateStatuses lists every value CommandAggregate can return.
var CommandAggregateStatuses = []Status{
	AggregatePending, AggregateScheduled, AggregateRunning, AggregateStopping, AggregateStopped,
	AggregateSuccess, AggregateFailed, AggregatePartialFailed, AggregateUnknown,
}

// EventType names what an event records.
type EventType string

// Event types.
const (
	EventInvocationDiscovered        EventType = "invocation_discovered"
	EventInvocationAttributesChanged EventType = "invocation_attributes_changed"
	EventReportedStatusChanged       EventType = "invocation_reported_status_changed"
	EventTagsChanged                 EventType = "invocation_tags_changed"
	EventSourceExpired               EventType = "invocation_source_expired"
	EventInstanceDiscovered          EventType = "instance_discovered"
	EventInstanceStatusChanged       EventType = "instance_status_changed"
	EventInstanceDetailsChanged      EventType = "instance_details_changed"
)

// Evidence names the source field that dated an event.
type Evidence string

// Evidence values. A ClampedSuffix marks a timestamp that went backwards and
// was raised to the previous one.
const (
	EvidenceCreationTime Evidence = "CreationTime"
	EvidenceStartTime    Evidence = "StartTime"
	EvidenceFinishTime   Evidence = "FinishTime"
	EvidenceStopTime     Evidence = "StopTime"
	EvidenceUpdateTime   Evidence = "UpdateTime"
	EvidenceInstances    Evidence = "instances" // invocation-level change dated by its instances' events
	EvidenceObserved     Evidence = "observed"  // the source gave no time: the archive's observation time
	ClampedSuffix        Evidence = ";clamped"
)

// RunOutcome is how an ingest run over one target ended.
type RunOutcome string

// Run outcomes. RunSkipped is never stored: a target whose lease another
// archiver holds gets no run row, but callers report it beside the others.
const (
	RunRunning     RunOutcome = "running"
	RunOK          RunOutcome = "ok"
	RunFailed      RunOutcome = "failed"
	RunInterrupted RunOutcome = "interrupted" // shutdown mid-cycle, not a fault of the source
	RunSkipped     RunOutcome = "skipped"
)

// SourceID names a record source by its API: a target is (account, region,
// source).
type SourceID string

// Sources.
const (
	SourceSendFileResults     SourceID = "ecs.DescribeSendFileResults"
	SourceCommands            SourceID = "ecs.DescribeInvocations"
	SourceEFLOSendFileResults SourceID = "eflo.DescribeSendFileResults"
	SourceEFLOCommands        SourceID = "eflo.DescribeInvocations"
)

// Sources lists every source the archive knows, in the order they are
// documented (DESIGN.md §11).
var Sources = []SourceID{SourceSendFileResults, SourceCommands, SourceEFLOSendFileResults, SourceEFLOCommands}

// IsTracked reports whether a source cannot be listed (EFLO: InvokeId is
// required): its tasks are registered in archive.tracked and polled until
// they finish (DESIGN.md §11).
func IsTracked(src SourceID) bool {
	return src == SourceEFLOSendFileResults || src == SourceEFLOCommands
}
