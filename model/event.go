package model

import (
	"encoding/json"
	"time"
)

// Event is one status transition or new piece of information about an
// invocation, as the diff produces it. The store adds the identity, target,
// run, recording time and hash chain.
type Event struct {
	InvokeID   string
	InstanceID string // "" for invocation-level events
	Seq        int64  // per invocation, from 1, no gaps
	Type       EventType
	FromStatus Status // "" when there is none
	ToStatus   Status // "" when there is none
	OccurredAt time.Time
	Evidence   Evidence
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

// InferredStep is the Detail of an instance_status_changed event for a
// lifecycle step the source never showed: the instance was first seen (or
// seen again) in a later status, and this step is reconstructed from that
// observation's timestamps. Its payload is the observation, so its
// InvocationStatus is the later, observed status, not this step's.
type InferredStep struct {
	Inferred       bool   `json:"inferred"`
	ObservedStatus Status `json:"observed_status"`
}
