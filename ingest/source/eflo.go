package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/cloudassistant/sendfile-archive/model"
)

// EFLO (Lingjun) is called through the generic OpenAPI client: no EFLO Go
// SDK is served by the module proxy (DESIGN.md §11). Its two Cloud
// Assistant APIs cannot be listed (InvokeId is required), so the archive
// polls each tracked task by id.
const (
	// EFLOVersion is the eflo-controller API version of the reference pages.
	EFLOVersion = "2022-12-15"
	// efloProduct names the product in its regional endpoint.
	efloProduct = "eflo-controller"
)

// efloAPIs are the tracked sources' APIs. Parse is set per call (see
// TrackedClient.Lookup): an EFLO send-file answer does not say which task
// it describes, so the parser is told.
var efloAPIs = map[model.SourceID]struct {
	api   API
	parse func(body []byte, invokeID string) (Page, error)
}{
	model.SourceEFLOSendFileResults: {API{Source: model.SourceEFLOSendFileResults, Action: "DescribeSendFileResults",
		Version: EFLOVersion}, ParseEFLOSendFilePage},
	model.SourceEFLOCommands: {API{Source: model.SourceEFLOCommands, Action: "DescribeInvocations",
		Version: EFLOVersion}, ParseEFLOCommandPage},
}

// TrackedClient looks up one tracked source's tasks by InvokeId.
type TrackedClient struct {
	c     *Client
	parse func(body []byte, invokeID string) (Page, error)
	query map[string]any // what every lookup asks besides RegionId and InvokeId
}

// NewTrackedClient builds the client of a tracked (EFLO) source in region:
// the generic OpenAPI client at eflo-controller.<region>.aliyuncs.com, or
// at opts.Endpoint when set, with the retries, token bucket and call slots
// every client shares.
func NewTrackedClient(src model.SourceID, region string, opts Options) (*TrackedClient, error) {
	e, ok := efloAPIs[src]
	if !ok {
		return nil, fmt.Errorf("source %s is not a tracked source (tracked: %s, %s)", src,
			model.SourceEFLOSendFileResults, model.SourceEFLOCommands)
	}
	if strings.TrimSpace(region) == "" {
		return nil, errors.New("region is empty")
	}
	cfg, err := opts.openapiConfig()
	if err != nil {
		return nil, err
	}
	cfg.RegionId = tea.String(region)
	if cfg.Endpoint == nil {
		cfg.Endpoint = tea.String(efloProduct + "." + region + ".aliyuncs.com")
	}
	c, err := pooledClient(openapi.NewClient, cfg, "EFLO", e.api, region, opts)
	if err != nil {
		return nil, err
	}
	t := &TrackedClient{c: c, parse: e.parse, query: map[string]any{}}
	if src == model.SourceEFLOCommands {
		// Outputs are archived once per SHA-256 like file contents; the
		// default encoding (Base64) keeps them as the cloud gives them.
		t.query["IncludeOutput"] = true
	}
	return t, nil
}

// Lookup asks for one task by id. An id the region does not hold (never
// existed, another region or account, expired) is an answer with no
// record, not an error. Every record of the answer carries invokeID unless
// the body names its own.
func (t *TrackedClient) Lookup(ctx context.Context, invokeID string) (Page, Stats, error) {
	c := *t.c // a copy per call: its parser knows which task it reads
	c.api.Parse = func(body []byte) (Page, error) { return t.parse(body, invokeID) }
	q := map[string]any{"RegionId": c.region, "InvokeId": invokeID}
	for k, v := range t.query {
		q[k] = v
	}
	return c.call(ctx, q)
}

// ParseEFLOSendFilePage decodes an EFLO DescribeSendFileResults answer for
// the task invokeID. The body names no task, so its record gets invokeID;
// TotalCount is a string there, Overwrite a boolean, and nodes stand
// where instances do (InvokeNodes.InvokeNode[].NodeId).
func ParseEFLOSendFilePage(body []byte, invokeID string) (Page, error) {
	return parseEFLO(body, invokeID, "Content")
}

// ParseEFLOCommandPage decodes an EFLO DescribeInvocations answer for the
// task invokeID: the script is in CommandContent, each node's run output
// (when asked for) in Output.
func ParseEFLOCommandPage(body []byte, invokeID string) (Page, error) {
	return parseEFLO(body, invokeID, "CommandContent")
}

func parseEFLO(body []byte, invokeID, contentKey string) (Page, error) {
	top, err := decodeObject(body)
	if err != nil {
		return Page{}, err
	}
	p := Page{RequestID: model.Text(top["RequestId"])}
	list, err := model.Envelope(top["Invocations"], "Invocation")
	if err != nil {
		return Page{}, fmt.Errorf("%w: Invocations: %v", ErrMalformed, err)
	}
	for i, item := range list {
		raw, ok := item.(map[string]any)
		if !ok {
			return Page{}, fmt.Errorf("%w: Invocations.Invocation[%d] is %s, not an object", ErrMalformed, i, model.KindOf(item))
		}
		inv, err := efloInvocation(raw, invokeID, contentKey)
		if err != nil {
			return Page{}, fmt.Errorf("%w: Invocations.Invocation[%d]: %v", ErrMalformed, i, err)
		}
		p.Invocations = append(p.Invocations, inv)
	}
	if len(p.Invocations) > 1 && anonymous(list) {
		// One id was asked for; several records without ids cannot all be
		// that task, and the archive will not guess which one is.
		return Page{}, fmt.Errorf("%w: %d records without an InvokeId answer one InvokeId", ErrMalformed, len(p.Invocations))
	}
	return p, nil
}

// anonymous reports whether some record of list carries no InvokeId.
func anonymous(list []any) bool {
	for _, item := range list {
		if m, _ := item.(map[string]any); model.TrimmedText(m["InvokeId"]) == "" {
			return true
		}
	}
	return false
}

// decodeObject decodes a response body that must be one JSON object,
// numbers kept as written.
func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("%w: body is not a JSON object: %v", ErrMalformed, err)
	}
	if top == nil {
		// "null": read as an empty answer it would count as the task
		// being gone.
		return nil, fmt.Errorf("%w: body is not a JSON object: null", ErrMalformed)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrMalformed)
	}
	return top, nil
}

// efloInvocation normalises one EFLO task record. Its verbatim fields are
// kept as sent (no InvokeId is added to them: the cloud did not send one);
// only the normalised record carries the id.
func efloInvocation(raw map[string]any, invokeID, contentKey string) (model.Invocation, error) {
	id := model.TrimmedText(raw["InvokeId"])
	if id == "" {
		id = strings.TrimSpace(invokeID)
	}
	if id == "" {
		return model.Invocation{}, errors.New("no InvokeId, and none was asked for")
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
		if k != "InvokeNodes" && k != contentKey {
			inv.Raw[k] = v
		}
	}
	tags, err := model.TagsFromRaw(raw["Tags"])
	if err != nil {
		return inv, err
	}
	inv.Tags = tags
	nodes, err := model.Envelope(raw["InvokeNodes"], "InvokeNode")
	if err != nil {
		return inv, fmt.Errorf("InvokeNodes: %v", err)
	}
	for i, item := range nodes {
		m, ok := item.(map[string]any)
		if !ok {
			return inv, fmt.Errorf("InvokeNode[%d] is %s, not an object", i, model.KindOf(item))
		}
		in := instanceFromRaw(m)
		if in.InstanceID == "" {
			return inv, fmt.Errorf("InvokeNode[%d] has no NodeId", i)
		}
		inv.Instances = append(inv.Instances, in)
	}
	return inv, nil
}
