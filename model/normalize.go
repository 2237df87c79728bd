package model

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Normalisation of the source's verbatim fields. The source adapter uses it
// to read a response, and the fold uses it to read an event's payload: an
// event stores the verbatim fields once (payload) and its detail holds only
// what they do not say, so both sides must read them the same way.

// timeLayouts are the shapes the docs' samples show, most common first.
var timeLayouts = []string{
	time.RFC3339Nano,         // 2019-12-20T06:15:54Z, 2023-04-10T10:53:46.156+08:00
	"2006-01-02T15:04Z07:00", // 2020-01-19T09:15Z (no seconds)
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05.999999999", // no zone: UTC, as the API documents
	"2006-01-02 15:04:05",
}

// ParseTime reads a source timestamp in any of the documented shapes, after
// trimming stray whitespace. Empty or unparseable values give nil; the
// verbatim value is still in the event payload.
func ParseTime(v any) *time.Time {
	s := TrimmedText(v)
	if s == "" {
		return nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			u := t.UTC()
			if u.Year() < 1 || u.Year() > 9999 {
				// An offset can push year 0000 or 9999 out of the range
				// JSON and PostgreSQL can hold: not a usable time.
				return nil
			}
			return &u
		}
	}
	return nil
}

// Text renders a scalar as the string the cloud meant; the API sometimes
// sends numbers or booleans where the docs say string.
func Text(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TrimmedText is Text without surrounding whitespace (the docs' samples show
// "\t/home/user" and " NodeNotExists"), and as the log can hold it
// (StoredString): a value read back from the log compares equal to the one
// observed, so a NUL in an error message does not read as a change on every
// observation.
func TrimmedText(v any) string { return strings.TrimSpace(StoredString(Text(v))) }

// BoolOf reads a boolean sent as a JSON boolean or as a string; nil if it is
// neither.
func BoolOf(v any) *bool {
	var b bool
	switch t := v.(type) {
	case bool:
		b = t
	case string, json.Number:
		parsed, err := strconv.ParseBool(TrimmedText(t))
		if err != nil {
			return nil
		}
		b = parsed
	default:
		return nil
	}
	return &b
}

// IntOf reads an integer sent as a number or a string; nil if it is neither.
func IntOf(v any) *int64 {
	s := TrimmedText(v)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// Envelope unwraps the cloud's {"Invocation": [...]} list envelopes. A
// missing or null envelope is an empty list; anything else of the wrong shape
// is an error.
func Envelope(v any, key string) ([]any, error) {
	if v == nil {
		return nil, nil
	}
	switch t := v.(type) {
	case map[string]any:
		inner, ok := t[key]
		if !ok || inner == nil {
			return nil, nil
		}
		list, ok := inner.([]any)
		if !ok {
			return nil, fmt.Errorf("%s is %s, not an array", key, KindOf(inner))
		}
		return list, nil
	case []any:
		return t, nil // tolerated: the envelope flattened away
	}
	return nil, fmt.Errorf("is %s, not an object", KindOf(v))
}

// KindOf names a decoded JSON value's type for error messages.
func KindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// InstanceFromRaw normalises one verbatim InvokeInstance object: an ECS
// instance, or an EFLO node (NodeId). A command's output is not among the
// verbatim fields (it is stored once per SHA-256): its hash is read from
// where the archive keeps it, OutputSHA256, when present.
func InstanceFromRaw(m map[string]any) Instance {
	return Instance{
		InstanceID:   firstText(m, "InstanceId", "NodeId"),
		Status:       Status(TrimmedText(m["InvocationStatus"])),
		CreationTime: ParseTime(m["CreationTime"]),
		StartTime:    ParseTime(m["StartTime"]),
		FinishTime:   ParseTime(m["FinishTime"]),
		UpdateTime:   ParseTime(m["UpdateTime"]),
		ErrorCode:    TrimmedText(m["ErrorCode"]),
		ErrorInfo:    TrimmedText(m["ErrorInfo"]),
		StopTime:     ParseTime(m["StopTime"]),
		Repeats:      IntOf(m["Repeats"]),
		ExitCode:     IntOf(m["ExitCode"]),
		Dropped:      IntOf(m["Dropped"]),
		Raw:          m,
	}
}

// firstText is the first of the keys present with a non-blank value: the
// same field under each source's name.
func firstText(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s := TrimmedText(m[k]); s != "" {
			return s
		}
	}
	return ""
}

// firstValue is the value of the first of keys m has a non-empty value for.
func firstValue(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if TrimmedText(m[k]) != "" {
			return m[k]
		}
	}
	return nil
}

// AttributesFromRaw normalises a verbatim invocation object's attributes.
// The content is not among the verbatim fields an event keeps (it is stored
// once per SHA-256), so its hash comes from the caller.
func AttributesFromRaw(raw map[string]any, contentSHA256 string) Attributes {
	return Attributes{
		Name:          firstText(raw, "Name", "CommandName"),
		Description:   firstText(raw, "Description", "CommandDescription"),
		ContentSHA256: contentSHA256,
		ContentType:   firstText(raw, "ContentType", "CommandType"),
		TargetDir:     TrimmedText(raw["TargetDir"]),
		FileOwner:     TrimmedText(raw["FileOwner"]),
		FileGroup:     TrimmedText(raw["FileGroup"]),
		FileMode:      TrimmedText(raw["FileMode"]),
		Overwrite:     BoolOf(raw["Overwrite"]),
		VMCount:       IntOf(firstValue(raw, "VmCount", "NodeCount")), // EFLO counts nodes
		CreationTime:  ParseTime(raw["CreationTime"]),
		CommandID:     TrimmedText(raw["CommandId"]),
		Parameters:    TrimmedText(raw["Parameters"]),
		RepeatMode:    TrimmedText(raw["RepeatMode"]),
		Frequency:     TrimmedText(raw["Frequency"]),
		Timeout:       IntOf(raw["Timeout"]),
		Username:      TrimmedText(raw["Username"]),
		WorkingDir:    TrimmedText(raw["WorkingDir"]),
	}
}

// TagsFromRaw normalises a verbatim Tags value ({"Tag": [{"TagKey",
// "TagValue"}]}), sorted by key, then value. No tags is nil.
func TagsFromRaw(v any) ([]Tag, error) {
	list, err := Envelope(v, "Tag")
	if err != nil {
		return nil, fmt.Errorf("Tags: %v", err)
	}
	var tags []Tag
	for _, t := range list {
		m, ok := t.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Tags.Tag is %s, not an object", KindOf(t))
		}
		tags = append(tags, Tag{Key: TrimmedText(m["TagKey"]), Value: TrimmedText(m["TagValue"])})
	}
	sort.Slice(tags, func(i, j int) bool {
		if tags[i].Key != tags[j].Key {
			return tags[i].Key < tags[j].Key
		}
		return tags[i].Value < tags[j].Value
	})
	return tags, nil
}
