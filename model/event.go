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

	// object is Payload decoded, kept by SetPayload: folding the diff's own
	// events reads it instead of decoding each payload again (a third of the
	// diff's CPU). Events read from the log never have it.
	object map[string]any
}

// PayloadObject is the decoded Payload when e keeps it (SetPayload), else nil.
// Callers must not modify it.
func (e *Event) PayloadObject() map[string]any { return e.object }

// SetPayload encodes payload as e's Payload. An object that decodes back
// from JSON unchanged (decodesBack) is printed as the log stores it
// (AppendJSONB, the text the chain hashes) and kept decoded in that form, so
// that neither storing nor folding e parses Payload again. Anything else is
// encoded with encoding/json.
func (e *Event) SetPayload(payload any) error {
	if m, ok := payload.(map[string]any); ok && decodesBack(m) {
		stored := storedObject(m)
		if text, err := AppendJSONB(make([]byte, 0, 512), stored); err == nil {
			e.Payload, e.object = text, stored
			return nil
		}
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	e.Payload, e.object = raw, nil
	return nil
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
