package cloudsim

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The ECS command operations.
const (
	actionInvocations       = "DescribeInvocations"
	actionInvocationResults = "DescribeInvocationResults"
)

// Parameter errors of the command operations.
var (
	errIncludeOutput   = paramError(400, "InvalidParameter.IncludeOutput", "IncludeOutput requires InvokeId or InstanceId.")
	errIncludeHistory  = paramError(400, "InvalidParameter.IncludeHistory", "IncludeHistory is only supported for a task whose RepeatMode is Period.")
	errContentEncoding = paramError(400, "InvalidParameter.ContentEncoding", "The specified parameter ContentEncoding is not valid.")
	errBoolParam       = paramError(400, "InvalidParameter", "The specified boolean parameter is not valid.")
	errMissingInvokeID = paramError(400, "MissingParameter.InvokeId", "The input parameter InvokeId that is mandatory for processing this request is not supplied.")
)

// cmdRequest is a validated DescribeInvocations or DescribeInvocationResults
// request; the embedded listRequest holds region, the shared filters,
// tags and paging.
type cmdRequest struct {
	*listRequest
	commandID, commandName, commandType, invokeStatus, repeatMode, recordStatus string
	timed                                                                       *bool
	plain, includeOutput, history                                               bool
}

// parseBool reads an optional boolean parameter.
func parseBool(p url.Values, name string) (value, present bool, e *apiError) {
	v, ok := p[name]
	if !ok {
		return false, false, nil
	}
	b, err := strconv.ParseBool(v[0])
	if err != nil {
		return false, true, errBoolParam
	}
	return b, true, nil
}

// parseCmdRequest validates the command operations' parameters.
func parseCmdRequest(p url.Values) (*cmdRequest, *apiError) {
	lr, e := parseListRequest(p)
	if e != nil {
		return nil, e
	}
	lr.name, lr.status = "", "" // send-file filters, not these operations'
	q := &cmdRequest{listRequest: lr, commandID: p.Get("CommandId"), commandName: p.Get("CommandName"),
		commandType: p.Get("CommandType"), invokeStatus: p.Get("InvokeStatus"), repeatMode: p.Get("RepeatMode"),
		recordStatus: p.Get("InvokeRecordStatus")}
	switch enc := strings.ToLower(p.Get("ContentEncoding")); enc {
	case "", "base64":
	case "plaintext":
		q.plain = true
	default:
		return nil, errContentEncoding
	}
	timed, hasTimed, e := parseBool(p, "Timed")
	if e != nil {
		return nil, e
	}
	if hasTimed {
		q.timed = &timed
	}
	if q.includeOutput, _, e = parseBool(p, "IncludeOutput"); e != nil {
		return nil, e
	}
	if q.history, _, e = parseBool(p, "IncludeHistory"); e != nil {
		return nil, e
	}
	return q, nil
}

// matchesTask applies the task-level filters (they combine with AND).
func (q *cmdRequest) matchesTask(tk *task, now time.Time) bool {
	ct := tk.cmd
	if q.invokeID != "" && ct.InvokeID != q.invokeID || q.commandID != "" && ct.CommandID != q.commandID ||
		q.commandName != "" && ct.CommandName != q.commandName || q.commandType != "" && ct.CommandType != q.commandType ||
		q.repeatMode != "" && ct.RepeatMode != q.repeatMode || q.resourceGroup != "" && ct.ResourceGroupID != q.resourceGroup ||
		q.timed != nil && ct.timedAt(now) != *q.timed {
		return false
	}
	if !matchTags(q.tags, ct.Tags) {
		return false
	}
	if q.instanceID != "" && q.instance(ct) == nil {
		return false
	}
	return q.invokeStatus == "" || ct.aggregateAt(now) == q.invokeStatus
}

// instance returns the task's instance named by the InstanceId filter.
func (q *cmdRequest) instance(ct *CommandTruth) *CommandInstanceTruth {
	for i := range ct.Instances {
		if ct.Instances[i].InstanceID == q.instanceID {
			return &ct.Instances[i]
		}
	}
	return nil
}

// matchTags reports whether tags satisfy every tag filter.
func matchTags(filters []tagFilter, tags []Tag) bool {
	for _, f := range filters {
		found := false
		for _, tag := range tags {
			if tag.Key == f.key && (!f.hasValue || tag.Value == f.value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// commandTasks returns the region's served command tasks of src, newest
// first, or an error for an unknown region.
func (s *Sim) commandTasks(region, src string) ([]*task, *apiError) {
	r := s.byName[region]
	if r == nil {
		return nil, errRegionNotFound
	}
	st := r.streams[src]
	if st == nil {
		return nil, nil
	}
	out := make([]*task, len(st.list))
	for i, tk := range st.list {
		out[len(st.list)-1-i] = tk
	}
	return out, nil
}

// runInvocations answers ECS DescribeInvocations; called with s.mu held.
func (s *Sim) runInvocations(p url.Values, requestID string, loopToken bool) ([]byte, bool, *apiError) {
	q, e := parseCmdRequest(p)
	if e != nil {
		return nil, false, e
	}
	q.loopToken = loopToken
	if q.includeOutput && q.invokeID == "" && q.instanceID == "" {
		return nil, false, errIncludeOutput
	}
	all, e := s.commandTasks(q.region, SourceCommands)
	if e != nil {
		return nil, false, e
	}
	now := s.now
	var matched []*task
	for _, tk := range all {
		if q.matchesTask(tk, now) {
			matched = append(matched, tk)
		}
	}
	lo, hi, next, e := pageWindow(len(matched), func(i int) entryKey { return entryKey{k: matched[i].key} }, q.listRequest, "inv")
	if e != nil {
		return nil, false, e
	}
	invs := make([]invocationJSON, 0, hi-lo)
	for _, tk := range matched[lo:hi] {
		invs = append(invs, q.renderInvocation(tk.cmd, now))
	}
	m := q.meta(len(matched), next, requestID)
	body, _ := json.Marshal(invocationsPage{m.pageSize, requestID, m.pageNumber, int64(m.total), m.nextToken,
		invocationList{invs}}) // strings, numbers and slices: always marshals
	return body, q.tokenMode, nil
}

// invocationsPage is the DescribeInvocations answer.
type invocationsPage struct {
	PageSize    int            `json:"PageSize"`
	RequestID   string         `json:"RequestId"`
	PageNumber  int64          `json:"PageNumber"`
	TotalCount  int64          `json:"TotalCount"`
	NextToken   string         `json:"NextToken"`
	Invocations invocationList `json:"Invocations"`
}

type invocationList struct {
	Invocation []invocationJSON `json:"Invocation"`
}

// invocationJSON is one Invocation of ECS DescribeInvocations.
type invocationJSON struct {
	CreationTime       string  `json:"CreationTime"`
	InvokeID           string  `json:"InvokeId"`
	CommandID          string  `json:"CommandId"`
	CommandName        string  `json:"CommandName"`
	CommandType        string  `json:"CommandType"`
	CommandContent     string  `json:"CommandContent"`
	CommandDescription string  `json:"CommandDescription"`
	Parameters         string  `json:"Parameters"`
	RepeatMode         string  `json:"RepeatMode"`
	Frequency          string  `json:"Frequency"`
	Timeout            int64   `json:"Timeout"`
	Username           string  `json:"Username"`
	WorkingDir         string  `json:"WorkingDir"`
	Launcher           string  `json:"Launcher"`
	TerminationMode    string  `json:"TerminationMode"`
	InvocationStatus   string  `json:"InvocationStatus"`
	InvokeStatus       string  `json:"InvokeStatus"`
	Timed              bool    `json:"Timed"`
	Tags               tagList `json:"Tags"`
	InvokeInstances    struct {
		InvokeInstance []invokeInstanceJSON `json:"InvokeInstance"`
	} `json:"InvokeInstances"`
}

type tagList struct {
	Tag []tagJSON `json:"Tag"`
}

type tagJSON struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
}

// renderTags renders tags as Tags.Tag[] (never null).
func renderTags(tags []Tag) tagList {
	out := tagList{Tag: []tagJSON{}}
	for _, t := range tags {
		out.Tag = append(out.Tag, tagJSON{t.Key, t.Value})
	}
	return out
}

// invokeInstanceJSON is one InvokeInstance; unset times and results are
// omitted, as send-file omits unset StartTime and FinishTime values.
type invokeInstanceJSON struct {
	InstanceID           string  `json:"InstanceId"`
	InvocationStatus     string  `json:"InvocationStatus"`
	InstanceInvokeStatus string  `json:"InstanceInvokeStatus"`
	CreationTime         string  `json:"CreationTime"`
	StartTime            string  `json:"StartTime,omitempty"`
	FinishTime           string  `json:"FinishTime,omitempty"`
	StopTime             string  `json:"StopTime,omitempty"`
	UpdateTime           string  `json:"UpdateTime"`
	Repeats              int     `json:"Repeats"`
	ExitCode             *int64  `json:"ExitCode,omitempty"`
	ErrorCode            string  `json:"ErrorCode"`
	ErrorInfo            string  `json:"ErrorInfo"`
	Dropped              int     `json:"Dropped"`
	Timed                bool    `json:"Timed"`
	Output               *string `json:"Output,omitempty"`
}

// renderInvocation renders one task at now (only the filtered instance,
// with InstanceId).
func (q *cmdRequest) renderInvocation(ct *CommandTruth, now time.Time) invocationJSON {
	agg := ct.aggregateAt(now)
	content, _ := decodeBase64(ct.CommandContent)
	inv := invocationJSON{
		CreationTime: fmtTime(ct.CreationTime), InvokeID: ct.InvokeID, CommandID: ct.CommandID,
		CommandName: ct.CommandName, CommandType: ct.CommandType, CommandContent: encodeText(content, q.plain),
		CommandDescription: ct.Description, Parameters: ct.Parameters, RepeatMode: ct.RepeatMode,
		Frequency: ct.Frequency, Timeout: ct.Timeout, Username: ct.Username, WorkingDir: ct.WorkingDir,
		TerminationMode: "Process", InvocationStatus: agg, InvokeStatus: legacyTaskStatus(agg),
		Timed: ct.timedAt(now), Tags: renderTags(ct.Tags),
	}
	inv.InvokeInstances.InvokeInstance = []invokeInstanceJSON{}
	for i := range ct.Instances {
		it := &ct.Instances[i]
		if q.instanceID != "" && it.InstanceID != q.instanceID {
			continue
		}
		v := viewCommandInstance(it, now)
		ij := invokeInstanceJSON{
			InstanceID: it.InstanceID, InvocationStatus: v.status, InstanceInvokeStatus: legacyInstanceStatus(v.status),
			CreationTime: fmtTime(it.Creation), StartTime: fmtTime(v.start), FinishTime: fmtTime(v.finish),
			StopTime: fmtTime(v.stop), UpdateTime: fmtTime(v.update), Repeats: v.repeats,
			ErrorCode: v.errCode, ErrorInfo: v.errInfo, Timed: v.timed,
		}
		if v.run != nil {
			ij.ExitCode = &v.run.ExitCode
			out, dropped := renderedOutput(v.run.Output)
			ij.Dropped = dropped
			if q.includeOutput {
				enc := encodeText(out, q.plain)
				ij.Output = &enc
			}
		}
		inv.InvokeInstances.InvokeInstance = append(inv.InvokeInstances.InvokeInstance, ij)
	}
	return inv
}
