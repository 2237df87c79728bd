package model

import (
	"encoding/json"
	"time"
)

// Event types. Names are part of the archive's public SQL surface.
const (
	EventInvocationDiscovered        = "invocation_discovered"
	EventInvocationAttributesChanged = "invocation_attributes_changed"
	EventReportedStatusChanged       = "invocation_reported_status_changed"
	EventTagsChanged                 = "invocation_tags_changed"
	EventSourceExpired               = "invocation_source_expired"
	EventInstanceDiscovered          = "instance_discovered"
	EventInstanceStatusChanged       = "instance_status_changed"
	EventInstanceDetailsChanged      = "instance_details_changed"
)

// Evidence values: which source field dated an event. A suffix ClampedSuffix
// marks a timestamp that went backwards and was raised to the previous one.
const (
	EvidenceCreationTime = "CreationTime"
	EvidenceStartTime    = "StartTime"
	EvidenceFinishTime   = "FinishTime"
	EvidenceUpdateTime   = "UpdateTime"
	EvidenceInstances    = "instances" // invocation-level change dated by its instances' events
	EvidenceObserved     = "observed"  // the source gave no time: the archive's observation time
	ClampedSuffix        = ";clamped"
)

// Event is one status transition or new piece of information about an
// invocation, as the diff produces it. The store adds the identity, target,
// run, recording time and hash chain.
type Event struct {
	InvokeID   string
	InstanceID string // "" for invocation-level events
	Seq        int64  // per invocation, from 1, no gaps
	Type       string
	FromStatus string // "" when there is none
	ToStatus   string // "" when there is none
	OccurredAt time.Time
	Evidence   string
	// Detail holds the normalised values the projections are folded from.
	Detail json.RawMessage
	// Payload holds the verbatim source fields the event was derived from.
	Payload json.RawMessage
}

// InvocationDetail is the Detail of invocation_discovered (both fields),
// invocation_attributes_changed (Attributes) and invocation_tags_changed (Tags).
type InvocationDetail struct {
	Attributes *Attributes `json:"attributes,omitempty"`
	Tags       []Tag       `json:"tags"`
}
