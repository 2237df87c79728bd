package cloudsim

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"time"
)

// decodeBase64 decodes Base64 text held in the truth.
func decodeBase64(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	return string(b), err
}

// resultEntry is one InvocationResult before rendering: an instance's
// current state (run nil unless history) or one run of it (history).
type resultEntry struct {
	tk   *task
	inst *CommandInstanceTruth
	run  *RunTruth // history mode only
	key  entryKey
}

// resultEntries lists the entries of one task in listing order: instances
// in order, or with history every started run, newest first, then by
// instance id.
func (q *cmdRequest) resultEntries(tk *task, now time.Time) []resultEntry {
	var out []resultEntry
	ct := tk.cmd
	if q.history {
		var refs []runRef
		for i := range ct.Instances {
			it := &ct.Instances[i]
			if q.instanceID != "" && it.InstanceID != q.instanceID {
				continue
			}
			for j := range it.Runs {
				if !now.Before(it.Runs[j].Start) {
					refs = append(refs, runRef{it, &it.Runs[j]})
				}
			}
		}
		sortedRunsNewestFirst(refs)
		for _, r := range refs {
			if q.recordStatus == "" || invokeRecordStatus(runStatusAt(r.run, now)) == q.recordStatus {
				out = append(out, resultEntry{tk: tk, inst: r.inst, run: r.run, key: entryKey{tk.key, len(out)}})
			}
		}
		return out
	}
	for i := range ct.Instances {
		it := &ct.Instances[i]
		if q.instanceID != "" && it.InstanceID != q.instanceID {
			continue
		}
		if q.recordStatus != "" {
			if st, _ := it.StatusAt(now); invokeRecordStatus(st) != q.recordStatus {
				continue
			}
		}
		out = append(out, resultEntry{tk: tk, inst: it, key: entryKey{tk.key, i}})
	}
	return out
}

// runInvocationResults answers ECS DescribeInvocationResults; called with
// s.mu held.
func (s *Sim) runInvocationResults(p url.Values, requestID string, loopToken bool) ([]byte, bool, *apiError) {
	q, e := parseCmdRequest(p)
	if e != nil {
		return nil, false, e
	}
	q.loopToken = loopToken
	q.invokeStatus, q.commandName, q.commandType, q.repeatMode, q.timed = "", "", "", "", nil // not filters here
	if q.history && q.invokeID == "" {
		return nil, false, errMissingInvokeID
	}
	all, e := s.commandTasks(q.region, SourceCommands)
	if e != nil {
		return nil, false, e
	}
	now := s.now
	var entries []resultEntry
	for _, tk := range all {
		if !q.matchesTask(tk, now) {
			continue
		}
		if q.history && tk.cmd.RepeatMode != RepeatPeriod {
			return nil, false, errIncludeHistory
		}
		entries = append(entries, q.resultEntries(tk, now)...)
	}
	lo, hi, next, e := pageWindow(len(entries), func(i int) entryKey { return entries[i].key }, q.listRequest, "res")
	if e != nil {
		return nil, false, e
	}
	results := make([]resultJSON, 0, hi-lo)
	for _, en := range entries[lo:hi] {
		results = append(results, q.renderResult(en, now))
	}
	m := q.meta(len(entries), next, requestID)
	var page resultsPage
	page.RequestID = requestID
	page.Invocation.InvocationResults.InvocationResult = results
	page.Invocation.NextToken, page.Invocation.PageNumber = m.nextToken, m.pageNumber
	page.Invocation.PageSize, page.Invocation.TotalCount = m.pageSize, int64(m.total)
	body, _ := json.Marshal(page) // strings, numbers and slices: always marshals
	return body, q.tokenMode, nil
}

// resultsPage is the DescribeInvocationResults answer.
type resultsPage struct {
	RequestID  string `json:"RequestId"`
	Invocation struct {
		InvocationResults struct {
			InvocationResult []resultJSON `json:"InvocationResult"`
		} `json:"InvocationResults"`
		NextToken  string `json:"NextToken"`
		PageNumber int64  `json:"PageNumber"`
		PageSize   int    `json:"PageSize"`
		TotalCount int64  `json:"TotalCount"`
	} `json:"Invocation"`
}

// resultJSON is one InvocationResult; unset times are omitted.
type resultJSON struct {
	CommandID          string  `json:"CommandId"`
	InvokeID           string  `json:"InvokeId"`
	InstanceID         string  `json:"InstanceId"`
	InvocationStatus   string  `json:"InvocationStatus"`
	InvokeRecordStatus string  `json:"InvokeRecordStatus"`
	Repeats            int     `json:"Repeats"`
	ExitCode           *int64  `json:"ExitCode,omitempty"`
	Output             string  `json:"Output"`
	Dropped            int     `json:"Dropped"`
	ErrorCode          string  `json:"ErrorCode"`
	ErrorInfo          string  `json:"ErrorInfo"`
	StartTime          string  `json:"StartTime,omitempty"`
	FinishedTime       string  `json:"FinishedTime,omitempty"`
	StopTime           string  `json:"StopTime,omitempty"`
	Username           string  `json:"Username"`
	Launcher           string  `json:"Launcher"`
	TerminationMode    string  `json:"TerminationMode"`
	Tags               tagList `json:"Tags"`
}

// renderResult renders one entry at now.
func (q *cmdRequest) renderResult(en resultEntry, now time.Time) resultJSON {
	ct := en.tk.cmd
	r := resultJSON{CommandID: ct.CommandID, InvokeID: ct.InvokeID, InstanceID: en.inst.InstanceID,
		Username: ct.Username, TerminationMode: "Process", Tags: renderTags(ct.Tags)}
	var shown *RunTruth
	if en.run != nil {
		r.InvocationStatus = runStatusAt(en.run, now)
		r.Repeats = en.run.Repeats
		r.StartTime = fmtTime(en.run.Start)
		if r.InvocationStatus != StatusRunning {
			shown = en.run
			r.FinishedTime = fmtTime(en.run.Finish)
			r.ErrorCode, r.ErrorInfo = en.run.ErrorCode, en.run.ErrorInfo
		}
	} else {
		v := viewCommandInstance(en.inst, now)
		r.InvocationStatus, r.Repeats, shown = v.status, v.repeats, v.run
		r.StartTime, r.FinishedTime, r.StopTime = fmtTime(v.start), fmtTime(v.finish), fmtTime(v.stop)
		r.ErrorCode, r.ErrorInfo = v.errCode, v.errInfo
	}
	r.InvokeRecordStatus = invokeRecordStatus(r.InvocationStatus)
	if shown != nil {
		r.ExitCode = &shown.ExitCode
		var out string
		out, r.Dropped = renderedOutput(shown.Output)
		r.Output = encodeText(out, q.plain)
	}
	return r
}
