package source

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// ParsePage decodes one DescribeSendFileResults response body.
func ParsePage(body []byte) (Page, error) { return parsePage(body, "Content") }

// ParseCommandPage decodes one DescribeInvocations response body: the same
// envelope, with the script in CommandContent.
func ParseCommandPage(body []byte) (Page, error) { return parsePage(body, "CommandContent") }

// parsePage decodes a listing whose records keep their body (file or
// script) under contentKey.
func parsePage(body []byte, contentKey string) (Page, error) {
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
	p := Page{RequestID: model.Text(top["RequestId"]), NextToken: model.TrimmedText(top["NextToken"])}
	list, err := model.Envelope(top["Invocations"], "Invocation")
	if err != nil {
		return Page{}, fmt.Errorf("%w: Invocations: %v", ErrMalformed, err)
	}
	for i, item := range list {
		raw, ok := item.(map[string]any)
		if !ok {
			return Page{}, fmt.Errorf("%w: Invocations.Invocation[%d] is %s, not an object", ErrMalformed, i, model.KindOf(item))
		}
		inv, err := normalizeInvocation(raw, contentKey)
		if err != nil {
			return Page{}, fmt.Errorf("%w: Invocations.Invocation[%d]: %v", ErrMalformed, i, err)
		}
		p.Invocations = append(p.Invocations, inv)
	}
	return p, nil
}

func normalizeInvocation(raw map[string]any, contentKey string) (model.Invocation, error) {
	id := model.TrimmedText(raw["InvokeId"])
	if id == "" {
		return model.Invocation{}, errors.New("no InvokeId")
	}
	content := model.Text(raw[contentKey])
	inv := model.Invocation{
		InvokeID:       id,
		Content:        content,
		Attributes:     model.AttributesFromRaw(raw, SHA256Hex(content)),
		ReportedStatus: model.Status(model.TrimmedText(raw["InvocationStatus"])),
		RawTags:        raw["Tags"],
		RawStatus:      raw["InvocationStatus"],
		Raw:            make(map[string]any, len(raw)),
	}
	for k, v := range raw {
		if k != "InvokeInstances" && k != contentKey {
			inv.Raw[k] = v
		}
	}
	tags, err := model.TagsFromRaw(raw["Tags"])
	if err != nil {
		return inv, err
	}
	inv.Tags = tags
	instances, err := model.Envelope(raw["InvokeInstances"], "InvokeInstance")
	if err != nil {
		return inv, fmt.Errorf("InvokeInstances: %v", err)
	}
	for i, item := range instances {
		m, ok := item.(map[string]any)
		if !ok {
			return inv, fmt.Errorf("InvokeInstance[%d] is %s, not an object", i, model.KindOf(item))
		}
		in := instanceFromRaw(m)
		if in.InstanceID == "" {
			return inv, fmt.Errorf("InvokeInstance[%d] has no InstanceId", i)
		}
		inv.Instances = append(inv.Instances, in)
	}
	return inv, nil
}

// ParseTime reads a source timestamp in any of the documented shapes (see
// model.ParseTime).
func ParseTime(v any) *time.Time { return model.ParseTime(v) }

// instanceFromRaw normalises an InvokeInstance. A command's Output is taken
// out of the verbatim fields: it is stored once per SHA-256, and the
// events carry its hash.
func instanceFromRaw(m map[string]any) model.Instance {
	out, ok := m["Output"]
	if !ok || out == nil {
		return model.InstanceFromRaw(m)
	}
	raw := make(map[string]any, len(m))
	for k, v := range m {
		if k != "Output" {
			raw[k] = v
		}
	}
	in := model.InstanceFromRaw(raw)
	in.Output = model.Text(out)
	in.OutputSHA256 = SHA256Hex(in.Output)
	return in
}

// SHA256Hex is the lowercase hex SHA-256 of s: how file contents and
// command outputs are keyed.
func SHA256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
