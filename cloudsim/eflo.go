package cloudsim

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// efloVersion is the EFLO (Lingjun, product eflo-controller) API version.
// Its DescribeSendFileResults and DescribeInvocations share action names
// with ECS; the simulator dispatches on (Action, Version).
const efloVersion = "2022-12-15"

// errEFLOMissingRegion is EFLO's answer to a missing RegionId. The real API
// takes the region from the regional endpoint; every product shares one
// endpoint here, so callers must send it.
var errEFLOMissingRegion = paramError(400, "MissingParameter.RegionId", "The input parameter RegionId that is mandatory for processing this request is not supplied.")

// efloRequest is a validated EFLO request: no listing, no paging.
type efloRequest struct {
	region, invokeID, nodeID string
	includeOutput, plain     bool
}

func parseEFLORequest(p url.Values) (*efloRequest, *apiError) {
	q := &efloRequest{region: p.Get("RegionId"), invokeID: p.Get("InvokeId"), nodeID: p.Get("NodeId")}
	if q.region == "" {
		return nil, errEFLOMissingRegion
	}
	if q.invokeID == "" {
		return nil, errMissingInvokeID
	}
	var e *apiError
	if q.includeOutput, _, e = parseBool(p, "IncludeOutput"); e != nil {
		return nil, e
	}
	switch strings.ToLower(p.Get("ContentEncoding")) {
	case "", "base64":
	case "plaintext":
		q.plain = true
	default:
		return nil, errContentEncoding
	}
	return q, nil
}

// efloTask finds the served task of src named by q, or nil when the region
// does not hold it (never existed, another region or source, evicted).
func (s *Sim) efloTask(q *efloRequest, src string) (*task, *apiError) {
	if s.byName[q.region] == nil {
		return nil, errRegionNotFound
	}
	tk := s.taskByID[q.invokeID]
	if tk == nil || tk.source != src || tk.region.name != q.region || tk.evicted {
		return nil, nil
	}
	return tk, nil
}

// efloPick is a stable per-record, per-field quirk choice.
func efloPick(tk *task, field, member string) uint64 {
	return hashSeed(int64(tk.quirk), "eflo", field, member)
}

// efloTime renders a time of an EFLO record: clean, or with Quirks the
// shapes of the reference samples (milliseconds, +08:00 offsets, a
// trailing "\t\n"). The truth is whole seconds, so every shape parses back
// to it.
func (s *Sim) efloTime(tk *task, field, member string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if !s.cfg.Quirks {
		return t.UTC().Format(layoutClean)
	}
	h := efloPick(tk, field, member)
	var out string
	switch h % 4 {
	case 0, 1:
		out = t.UTC().Format(layoutClean)
	case 2:
		out = t.UTC().Format(layoutMillis)
	default:
		out = t.In(chinaStandardTime).Format(layoutOffsetMs)
	}
	if (h>>8)%6 == 0 {
		out += "\t\n" // the "2019-12-20T06:15:55Z\t\n" sample
	}
	return out
}

// efloErrorCode renders an error code, with Quirks sometimes with the
// leading space of the " NodeNotExists" sample.
func (s *Sim) efloErrorCode(tk *task, member, code string) string {
	if s.cfg.Quirks && code != "" && efloPick(tk, "ErrorCode", member)%3 == 0 {
		return " " + code
	}
	return code
}

// runEFLOSendFile answers EFLO DescribeSendFileResults; called with s.mu
// held.
func (s *Sim) runEFLOSendFile(p url.Values, requestID string, _ bool) ([]byte, bool, *apiError) {
	q, e := parseEFLORequest(p)
	if e != nil {
		return nil, false, e
	}
	tk, e := s.efloTask(q, SourceEFLOSendFile)
	if e != nil {
		return nil, false, e
	}
	page := efloSendPage{RequestID: requestID, TotalCount: "0"}
	page.Invocations.Invocation = []efloSendJSON{}
	if tk != nil {
		page.TotalCount = "1"
		page.Invocations.Invocation = append(page.Invocations.Invocation, s.renderEFLOSend(tk, q, s.now))
	}
	body, _ := json.Marshal(page) // strings, numbers and slices: always marshals
	return body, false, nil
}

// efloSendPage is EFLO DescribeSendFileResults' answer: TotalCount is a
// string and nothing carries the InvokeId, as in the reference sample.
type efloSendPage struct {
	RequestID   string `json:"RequestId"`
	TotalCount  string `json:"TotalCount"`
	Invocations struct {
		Invocation []efloSendJSON `json:"Invocation"`
	} `json:"Invocations"`
}

type efloSendJSON struct {
	FileMode         string `json:"FileMode"`
	Overwrite        bool   `json:"Overwrite"`
	InvocationStatus string `json:"InvocationStatus"`
	Description      string `json:"Description"`
	ContentType      string `json:"ContentType"`
	NodeCount        int    `json:"NodeCount"`
	TargetDir        string `json:"TargetDir"`
	FileGroup        string `json:"FileGroup"`
	FileOwner        string `json:"FileOwner"`
	Name             string `json:"Name"`
	Content          string `json:"Content"`
	CreationTime     string `json:"CreationTime"`
	InvokeNodes      struct {
		InvokeNode []efloSendNodeJSON `json:"InvokeNode"`
	} `json:"InvokeNodes"`
}

type efloSendNodeJSON struct {
	InvocationStatus string `json:"InvocationStatus"`
	FinishTime       string `json:"FinishTime,omitempty"`
	NodeID           string `json:"NodeId"`
	ErrorInfo        string `json:"ErrorInfo"`
	CreationTime     string `json:"CreationTime"`
	StartTime        string `json:"StartTime,omitempty"`
	UpdateTime       string `json:"UpdateTime"`
	ErrorCode        string `json:"ErrorCode"`
}

// renderEFLOSend renders one EFLO send-file task at now (only the node
// named by NodeId, when set).
func (s *Sim) renderEFLOSend(tk *task, q *efloRequest, now time.Time) efloSendJSON {
	t := &tk.send.truth
	inv := efloSendJSON{FileMode: t.FileMode, Overwrite: t.Overwrite, InvocationStatus: t.aggregateAt(now),
		Description: t.Description, ContentType: t.ContentType, NodeCount: len(t.Instances), TargetDir: t.TargetDir,
		FileGroup: t.FileGroup, FileOwner: t.FileOwner, Name: t.Name, Content: t.Content,
		CreationTime: s.efloTime(tk, "CreationTime", "", t.CreationTime)}
	if s.cfg.Quirks && efloPick(tk, "TargetDir", "")%4 == 0 {
		inv.TargetDir = "\t" + inv.TargetDir // the "\t/home/user" sample
	}
	inv.InvokeNodes.InvokeNode = []efloSendNodeJSON{}
	for i := range t.Instances {
		it := &t.Instances[i]
		if q.nodeID != "" && it.InstanceID != q.nodeID {
			continue
		}
		n := efloSendNodeJSON{NodeID: it.InstanceID, CreationTime: s.efloTime(tk, "NodeCreationTime", it.InstanceID, it.Creation)}
		n.InvocationStatus, _ = it.StatusAt(now)
		last := it.Creation
		if !it.Start.IsZero() && !now.Before(it.Start) {
			n.StartTime, last = s.efloTime(tk, "StartTime", it.InstanceID, it.Start), it.Start
		}
		if !now.Before(it.Finish) {
			n.FinishTime, last = s.efloTime(tk, "FinishTime", it.InstanceID, it.Finish), it.Finish
			n.ErrorCode, n.ErrorInfo = s.efloErrorCode(tk, it.InstanceID, it.ErrorCode), it.ErrorInfo
		}
		n.UpdateTime = s.efloTime(tk, "UpdateTime", it.InstanceID, last)
		inv.InvokeNodes.InvokeNode = append(inv.InvokeNodes.InvokeNode, n)
	}
	return inv
}

// runEFLOCommands answers EFLO DescribeInvocations; called with s.mu held.
func (s *Sim) runEFLOCommands(p url.Values, requestID string, _ bool) ([]byte, bool, *apiError) {
	q, e := parseEFLORequest(p)
	if e != nil {
		return nil, false, e
	}
	tk, e := s.efloTask(q, SourceEFLOCommands)
	if e != nil {
		return nil, false, e
	}
	var page efloCmdPage
	page.RequestID = requestID
	page.Invocations.Invocation = []efloCmdJSON{}
	if tk != nil {
		page.Invocations.Invocation = append(page.Invocations.Invocation, s.renderEFLOCommand(tk, q, s.now))
	}
	body, _ := json.Marshal(page) // strings, numbers and slices: always marshals
	return body, false, nil
}

// efloCmdPage is EFLO DescribeInvocations' answer, shaped as the sample.
type efloCmdPage struct {
	RequestID   string `json:"RequestId"`
	Invocations struct {
		Invocation []efloCmdJSON `json:"Invocation"`
	} `json:"Invocations"`
}

type efloCmdJSON struct {
	CreationTime       string `json:"CreationTime"`
	Frequency          string `json:"Frequency"`
	InvocationStatus   string `json:"InvocationStatus"`
	RepeatMode         string `json:"RepeatMode"`
	InvokeStatus       string `json:"InvokeStatus"`
	Parameters         string `json:"Parameters"`
	CommandContent     string `json:"CommandContent"`
	CommandName        string `json:"CommandName"`
	CommandDescription string `json:"CommandDescription"`
	InvokeID           string `json:"InvokeId"`
	Username           string `json:"Username"`
	WorkingDir         string `json:"WorkingDir"`
	Timeout            int64  `json:"Timeout"`
	InvokeNodes        struct {
		InvokeNode []efloCmdNodeJSON `json:"InvokeNode"`
	} `json:"InvokeNodes"`
}

// efloCmdNodeJSON is one InvokeNode; Timed is a string, as documented.
type efloCmdNodeJSON struct {
	CreationTime     string  `json:"CreationTime"`
	UpdateTime       string  `json:"UpdateTime"`
	FinishTime       string  `json:"FinishTime,omitempty"`
	InvocationStatus string  `json:"InvocationStatus"`
	Repeats          int     `json:"Repeats"`
	NodeID           string  `json:"NodeId"`
	Output           *string `json:"Output,omitempty"`
	Dropped          int     `json:"Dropped"`
	StopTime         string  `json:"StopTime,omitempty"`
	ExitCode         *int64  `json:"ExitCode,omitempty"`
	StartTime        string  `json:"StartTime,omitempty"`
	ErrorInfo        string  `json:"ErrorInfo"`
	Timed            string  `json:"Timed"`
	ErrorCode        string  `json:"ErrorCode"`
	NodeInvokeStatus string  `json:"NodeInvokeStatus"`
}

// renderEFLOCommand renders one EFLO command task at now.
func (s *Sim) renderEFLOCommand(tk *task, q *efloRequest, now time.Time) efloCmdJSON {
	ct := tk.cmd
	agg := ct.aggregateAt(now)
	content, _ := decodeBase64(ct.CommandContent)
	inv := efloCmdJSON{CreationTime: s.efloTime(tk, "CreationTime", "", ct.CreationTime), Frequency: ct.Frequency,
		InvocationStatus: agg, RepeatMode: ct.RepeatMode, InvokeStatus: legacyTaskStatus(agg), Parameters: ct.Parameters,
		CommandContent: encodeText(content, q.plain), CommandName: ct.CommandName, CommandDescription: ct.Description,
		InvokeID: ct.InvokeID, Username: ct.Username, WorkingDir: ct.WorkingDir, Timeout: ct.Timeout}
	inv.InvokeNodes.InvokeNode = []efloCmdNodeJSON{}
	for i := range ct.Instances {
		it := &ct.Instances[i]
		if q.nodeID != "" && it.InstanceID != q.nodeID {
			continue
		}
		v := viewCommandInstance(it, now)
		id := it.InstanceID
		n := efloCmdNodeJSON{CreationTime: s.efloTime(tk, "NodeCreationTime", id, it.Creation),
			UpdateTime: s.efloTime(tk, "UpdateTime", id, v.update), FinishTime: s.efloTime(tk, "FinishTime", id, v.finish),
			InvocationStatus: v.status, Repeats: v.repeats, NodeID: id, StopTime: s.efloTime(tk, "StopTime", id, v.stop),
			StartTime: s.efloTime(tk, "StartTime", id, v.start), ErrorInfo: v.errInfo, Timed: strconv.FormatBool(v.timed),
			ErrorCode: s.efloErrorCode(tk, id, v.errCode), NodeInvokeStatus: legacyInstanceStatus(v.status)}
		if v.run != nil {
			n.ExitCode = &v.run.ExitCode
			out, dropped := renderedOutput(v.run.Output)
			n.Dropped = dropped
			if q.includeOutput {
				enc := encodeText(out, q.plain)
				n.Output = &enc
			}
		}
		inv.InvokeNodes.InvokeNode = append(inv.InvokeNodes.InvokeNode, n)
	}
	return inv
}

// efloTaskJSON is one entry of the control surface's /_sim/eflo/tasks.
type efloTaskJSON struct {
	Source       string `json:"source"`
	Region       string `json:"region"`
	InvokeID     string `json:"invoke_id"`
	CreationTime string `json:"creation_time"`
}

// efloTasksSince lists the EFLO tasks created at or after since (zero:
// all), in creation order: what automation that starts them would know.
func (s *Sim) efloTasksSince(since time.Time) []efloTaskJSON {
	out := []efloTaskJSON{}
	for _, t := range s.EFLOTasks() {
		if t.CreationTime.Before(since) {
			continue
		}
		src := SourceEFLOSendFile
		if t.Kind == EFLOKindCommand {
			src = SourceEFLOCommands
		}
		out = append(out, efloTaskJSON{src, t.Region, t.InvokeID, t.CreationTime.Format(time.RFC3339)})
	}
	return out
}
