package source

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/cloudassistant/sendfile-archive/model"
)

// maxResultPages bounds one task's result walk: 50 results a page, far more
// runs than any task keeps within the cloud's retention.
const maxResultPages = 1000

// RunResults lists a command task's results through DescribeInvocationResults:
// each instance's latest run, or with history every run of every instance
// (what a periodic task needs: the listing shows only its latest run). The
// results come back as instances, output included, ordered by instance and
// run.
func (c *Client) RunResults(ctx context.Context, invokeID string, history bool) ([]model.Instance, Stats, error) {
	rc := *c
	rc.api = API{Source: c.api.Source, Action: "DescribeInvocationResults", Version: c.api.Version, Parse: parseResultsPage}
	var total Stats
	var out []model.Instance
	token := ""
	for range maxResultPages {
		q := map[string]any{"RegionId": c.region, "InvokeId": invokeID, "MaxResults": MaxResults}
		if history {
			q["IncludeHistory"] = true
		}
		if token != "" {
			q["NextToken"] = token
		}
		page, st, err := rc.call(ctx, q)
		total.Calls += st.Calls
		total.Retries += st.Retries
		if err != nil {
			return nil, total, fmt.Errorf("results of %s: %w", invokeID, err)
		}
		if len(page.Invocations) > 0 {
			out = append(out, page.Invocations[0].Instances...)
		}
		if token = page.NextToken; token == "" {
			sort.SliceStable(out, func(i, j int) bool {
				if out[i].InstanceID != out[j].InstanceID {
					return out[i].InstanceID < out[j].InstanceID
				}
				return int64Of(out[i].Repeats) < int64Of(out[j].Repeats)
			})
			return out, total, nil
		}
	}
	return nil, total, fmt.Errorf("results of %s: more than %d pages", invokeID, maxResultPages)
}

func int64Of(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// parseResultsPage reads one DescribeInvocationResults body into a page
// whose one pseudo-record holds the results as instances. The results name
// their finish FinishedTime; it is read as FinishTime.
func parseResultsPage(body []byte) (Page, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil || top == nil {
		return Page{}, fmt.Errorf("%w: results body is not a JSON object", ErrMalformed)
	}
	inv, _ := top["Invocation"].(map[string]any)
	p := Page{RequestID: model.Text(top["RequestId"]), NextToken: model.TrimmedText(inv["NextToken"])}
	list, err := model.Envelope(inv["InvocationResults"], "InvocationResult")
	if err != nil {
		return Page{}, fmt.Errorf("%w: InvocationResults: %v", ErrMalformed, err)
	}
	rec := model.Invocation{}
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return Page{}, fmt.Errorf("%w: InvocationResult[%d] is %s, not an object", ErrMalformed, i, model.KindOf(item))
		}
		in := instanceFromRaw(m)
		if in.InstanceID == "" {
			return Page{}, fmt.Errorf("%w: InvocationResult[%d] has no InstanceId", ErrMalformed, i)
		}
		if in.FinishTime == nil {
			in.FinishTime = model.ParseTime(m["FinishedTime"])
		}
		rec.Instances = append(rec.Instances, in)
	}
	p.Invocations = []model.Invocation{rec}
	return p, nil
}
