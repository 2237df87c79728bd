package model

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// What an event's detail holds. The payload keeps the verbatim source fields
// the event was derived from; the detail holds only what those fields do not
// say, so no event stores the same information twice:
//
//   - instance_discovered and instance_details_changed: nothing (NULL) — the
//     times and error are read from the payload's verbatim instance;
//   - invocation_discovered and invocation_attributes_changed:
//     {"content_sha256"} — the file body is not in the payload (it is stored
//     once per SHA-256); the other attributes and the tags are read from it;
//   - invocation_tags_changed: nothing — the payload holds the Tags;
//   - instance_status_changed: InferredStep for a reconstructed step, else
//     nothing.
//
// Events recorded before this rule carry the full normalised values in the
// detail ({"attributes", "tags"}, or the instance's Details); a present
// detail always wins, so those fold exactly as they did.

// ContentDetail is the detail of invocation_discovered and
// invocation_attributes_changed: the SHA-256 of the file body.
type ContentDetail struct {
	ContentSHA256 string `json:"content_sha256"`
}

// InstanceDetail is the detail the diff stores for an instance_discovered or
// instance_details_changed event observed as obs: nil when its payload (the
// verbatim obs.Raw) already says everything.
func InstanceDetail(obs Instance) any {
	d := DetailsOf(obs)
	if obs.Raw != nil && DetailsOf(InstanceFromRaw(storedObject(obs.Raw))).Equal(d) {
		return nil
	}
	return d
}

// InvocationEventDetail is the detail the diff stores for an
// invocation_discovered (withTags) or invocation_attributes_changed event
// observed as obs: the content hash when the payload (obs.Raw) gives
// everything else, else the full normalised values.
func InvocationEventDetail(obs Invocation, withTags bool) any {
	attrs := obs.Attributes
	stored := storedObject(obs.Raw)
	compact := stored != nil && AttributesFromRaw(stored, attrs.ContentSHA256).Equal(attrs)
	if compact && withTags {
		tags, err := TagsFromRaw(stored["Tags"])
		compact = err == nil && TagsEqual(tags, obs.Tags)
	}
	if compact {
		return ContentDetail{ContentSHA256: attrs.ContentSHA256}
	}
	d := InvocationDetail{Attributes: &attrs}
	if withTags {
		d.Tags = nonNil(obs.Tags)
	}
	return d
}

// TagsEventDetail is the detail of an invocation_tags_changed event whose
// payload is {"Tags": rawTags}: nil when the verbatim tags say it.
func TagsEventDetail(tags []Tag, rawTags any) any {
	if got, err := TagsFromRaw(AsStored(rawTags)); err == nil && TagsEqual(got, tags) {
		return nil
	}
	return InvocationDetail{Tags: nonNil(tags)}
}

func nonNil(tags []Tag) []Tag {
	if tags == nil {
		return []Tag{}
	}
	return tags
}

// hasDetail reports whether an event carries a detail (JSON null is none).
func hasDetail(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// payloadObject decodes an event's payload as the verbatim object it is,
// numbers kept as written.
func payloadObject(e Event) (map[string]any, error) {
	if e.object != nil {
		return e.object, nil
	}
	dec := json.NewDecoder(bytes.NewReader(e.Payload))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	return m, nil
}

// InstanceDetailsOf returns the instance details an instance_discovered or
// instance_details_changed event records.
func InstanceDetailsOf(e Event) (Details, error) {
	var d Details
	if hasDetail(e.Detail) {
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			return d, fmt.Errorf("decode instance details: %w", err)
		}
		return d, nil
	}
	raw, err := payloadObject(e)
	if err != nil {
		return d, err
	}
	return DetailsOf(InstanceFromRaw(raw)), nil
}

// InvocationDetailOf returns what an invocation_discovered (attributes and
// tags), invocation_attributes_changed (attributes) or
// invocation_tags_changed (tags) event records.
func InvocationDetailOf(e Event) (InvocationDetail, error) {
	var d InvocationDetail
	var content ContentDetail
	if hasDetail(e.Detail) {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(e.Detail, &probe); err != nil {
			return d, fmt.Errorf("decode invocation detail: %w", err)
		}
		_, attrs := probe["attributes"]
		_, tags := probe["tags"]
		if attrs || tags {
			// Recorded before details were kept only where the payload is
			// silent: the detail has it all.
			err := json.Unmarshal(e.Detail, &d)
			return d, err
		}
		if err := json.Unmarshal(e.Detail, &content); err != nil {
			return d, fmt.Errorf("decode invocation detail: %w", err)
		}
	}
	raw, err := payloadObject(e)
	if err != nil {
		return d, err
	}
	if e.Type != EventTagsChanged {
		attrs := AttributesFromRaw(raw, content.ContentSHA256)
		d.Attributes = &attrs
	}
	if e.Type != EventInvocationAttributesChanged {
		tags, err := TagsFromRaw(raw["Tags"])
		if err != nil {
			return d, err
		}
		d.Tags = nonNil(tags)
	}
	return d, nil
}
