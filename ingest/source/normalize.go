package source

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
)

// ErrMalformed marks a response body the archive cannot read safely. The
// cycle fails and commits nothing from that page.
var ErrMalformed = errors.New("malformed response")

// Page is one decoded page of DescribeSendFileResults.
type Page struct {
	RequestID string
	NextToken string
	// ServedAt is the response's Date header: when the source says it served
	// the page. Changes the source gives no timestamp for are dated by it,
	// so they are on the source's clock like everything else (zero if absent).
	ServedAt    time.Time
	Invocations []model.Invocation
}

// ParsePage decodes one response body.
func ParsePage(body []byte) (Page, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		return Page{}, fmt.Errorf("%w: body is not a JSON object: %v", ErrMalformed, err)
	}
	if top == nil {
		// "null" decodes into a nil map without error. Read as an empty last
		// page it would end a walk early, and as the answer to an expiry
		// lookup it would "confirm" that a live invocation is gone.
		return Page{}, fmt.Errorf("%w: body is not a JSON object: null", ErrMalformed)
	}
	// Anything but whitespace after the object is trailing data. (dec.More
	// is not enough: it reports a stray "}" or "]" as the end of input.)
	if _, err := dec.Token(); err != io.EOF {
		return Page{}, fmt.Errorf("%w: trailing data after the JSON object", ErrMalformed)
	}
	p := Page{RequestID: str(top["RequestId"]), NextToken: strings.TrimSpace(str(top["NextToken"]))}
	list, err := listOf(top["Invocations"], "Invocation")
	if err != nil {
		return Page{}, fmt.Errorf("%w: Invocations: %v", ErrMalformed, err)
	}
	for i, item := range list {
		raw, ok := item.(map[string]any)
		if !ok {
			return Page{}, fmt.Errorf("%w: Invocations.Invocation[%d] is %s, not an object", ErrMalformed, i, kind(item))
		}
		inv, err := normalizeInvocation(raw)
		if err != nil {
			return Page{}, fmt.Errorf("%w: Invocations.Invocation[%d]: %v", ErrMalformed, i, err)
		}
		p.Invocations = append(p.Invocations, inv)
	}
	return p, nil
}

// listOf unwraps the cloud's {"Invocation": [...]} envelopes. A missing or
// null envelope is an empty list; anything else of the wrong shape is an error.
func listOf(v any, key string) ([]any, error) {
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
			return nil, fmt.Errorf("%s is %s, not an array", key, kind(inner))
		}
		return list, nil
	case []any:
		return t, nil // tolerated: the envelope flattened away
	}
	return nil, fmt.Errorf("is %s, not an object", kind(v))
}

func normalizeInvocation(raw map[string]any) (model.Invocation, error) {
	id := strings.TrimSpace(str(raw["InvokeId"]))
	if id == "" {
		return model.Invocation{}, errors.New("no InvokeId")
	}
	content := str(raw["Content"])
	sum := sha256.Sum256([]byte(content))
	inv := model.Invocation{
		InvokeID: id,
		Content:  content,
		Attributes: model.Attributes{
			Name:          strings.TrimSpace(str(raw["Name"])),
			Description:   strings.TrimSpace(str(raw["Description"])),
			ContentSHA256: hex.EncodeToString(sum[:]),
			ContentType:   strings.TrimSpace(str(raw["ContentType"])),
			TargetDir:     strings.TrimSpace(str(raw["TargetDir"])),
			FileOwner:     strings.TrimSpace(str(raw["FileOwner"])),
			FileGroup:     strings.TrimSpace(str(raw["FileGroup"])),
			FileMode:      strings.TrimSpace(str(raw["FileMode"])),
			Overwrite:     boolOf(raw["Overwrite"]),
			VMCount:       intOf(raw["VmCount"]),
			CreationTime:  ParseTime(raw["CreationTime"]),
		},
		ReportedStatus: model.Status(strings.TrimSpace(str(raw["InvocationStatus"]))),
		RawTags:        raw["Tags"],
		RawStatus:      raw["InvocationStatus"],
		Raw:            make(map[string]any, len(raw)),
	}
	for k, v := range raw {
		if k != "InvokeInstances" && k != "Content" {
			inv.Raw[k] = v
		}
	}
	tags, err := listOf(raw["Tags"], "Tag")
	if err != nil {
		return inv, fmt.Errorf("Tags: %v", err)
	}
	for _, t := range tags {
		m, ok := t.(map[string]any)
		if !ok {
			return inv, fmt.Errorf("Tags.Tag is %s, not an object", kind(t))
		}
		inv.Tags = append(inv.Tags, model.Tag{Key: strings.TrimSpace(str(m["TagKey"])), Value: strings.TrimSpace(str(m["TagValue"]))})
	}
	sort.Slice(inv.Tags, func(i, j int) bool {
		if inv.Tags[i].Key != inv.Tags[j].Key {
			return inv.Tags[i].Key < inv.Tags[j].Key
		}
		return inv.Tags[i].Value < inv.Tags[j].Value
	})
	instances, err := listOf(raw["InvokeInstances"], "InvokeInstance")
	if err != nil {
		return inv, fmt.Errorf("InvokeInstances: %v", err)
	}
	for i, item := range instances {
		m, ok := item.(map[string]any)
		if !ok {
			return inv, fmt.Errorf("InvokeInstance[%d] is %s, not an object", i, kind(item))
		}
		in := model.Instance{
			InstanceID:   strings.TrimSpace(str(m["InstanceId"])),
			Status:       model.Status(strings.TrimSpace(str(m["InvocationStatus"]))),
			CreationTime: ParseTime(m["CreationTime"]),
			StartTime:    ParseTime(m["StartTime"]),
			FinishTime:   ParseTime(m["FinishTime"]),
			UpdateTime:   ParseTime(m["UpdateTime"]),
			ErrorCode:    strings.TrimSpace(str(m["ErrorCode"])),
			ErrorInfo:    strings.TrimSpace(str(m["ErrorInfo"])),
			Raw:          m,
		}
		if in.InstanceID == "" {
			return inv, fmt.Errorf("InvokeInstance[%d] has no InstanceId", i)
		}
		inv.Instances = append(inv.Instances, in)
	}
	return inv, nil
}

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
	s := strings.TrimSpace(str(v))
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

// str renders a scalar as the string the cloud meant; the API sometimes sends
// numbers or booleans where the docs say string.
func str(v any) string {
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

func boolOf(v any) *bool {
	var b bool
	switch t := v.(type) {
	case bool:
		b = t
	case string, json.Number:
		parsed, err := strconv.ParseBool(strings.TrimSpace(str(t)))
		if err != nil {
			return nil
		}
		b = parsed
	default:
		return nil
	}
	return &b
}

func intOf(v any) *int64 {
	s := strings.TrimSpace(str(v))
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

func kind(v any) string {
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
