package cloudsim

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v4/client"
	"github.com/alibabacloud-go/tea/tea"
)

type (
	cmdInvocation = ecs.DescribeInvocationsResponseBodyInvocationsInvocation
	cmdResult     = ecs.DescribeInvocationResultsResponseBodyInvocationInvocationResultsInvocationResult
)

// listedCommands is the command tasks the API should list now, newest first.
func listedCommands(s *Sim, region string) []CommandTruth {
	var out []CommandTruth
	for _, ct := range s.Commands() {
		if ct.Region == region && s.TaskListed(SourceCommands, region, ct.InvokeID) {
			out = append(out, ct)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreationTime.After(out[j].CreationTime) })
	return out
}

// walkInvocations pages DescribeInvocations with MaxResults and NextToken.
func walkInvocations(t testing.TB, c *ecs.Client, base ecs.DescribeInvocationsRequest, max int32) []*cmdInvocation {
	t.Helper()
	var all []*cmdInvocation
	token := ""
	for pages := 0; ; pages++ {
		req := base
		req.MaxResults = tea.Int32(max)
		if token != "" {
			req.NextToken = tea.String(token)
		}
		resp, err := c.DescribeInvocations(&req)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		all = append(all, resp.Body.Invocations.Invocation...)
		if token = tea.StringValue(resp.Body.NextToken); token == "" || pages > 10000 {
			return all
		}
	}
}

func invokeIDs(invs []*cmdInvocation) []string {
	out := make([]string, len(invs))
	for i, inv := range invs {
		out[i] = tea.StringValue(inv.InvokeId)
	}
	return out
}

func commandIDs(cts []CommandTruth) []string {
	out := make([]string, len(cts))
	for i, ct := range cts {
		out[i] = ct.InvokeID
	}
	return out
}

func commandSim(t testing.TB, tweak func(*Config)) *Sim {
	return newSim(t, func(c *Config) {
		c.CommandsPerDay = 150
		if tweak != nil {
			tweak(c)
		}
	})
}

func TestCommandAggregateRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, StatusUnknown},
		{[]string{"Weird"}, StatusUnknown},
		{[]string{StatusSuccess, StatusPending, StatusScheduled}, StatusPending},
		{[]string{StatusRunning, StatusScheduled}, StatusScheduled},
		{[]string{StatusRunning, StatusStopping, StatusFailed}, StatusRunning},
		{[]string{StatusStopping, StatusSuccess}, StatusStopping},
		{[]string{StatusCancelled, StatusTerminated}, StatusStopped},
		{[]string{StatusSuccess, StatusCancelled}, StatusSuccess},
		{[]string{StatusInvalid, StatusTerminated, StatusTimeout}, StatusFailed},
		{[]string{StatusError, StatusSuccess}, StatusPartialFailed},
		{[]string{StatusAborted, StatusSuccess, StatusCancelled}, StatusPartialFailed},
	} {
		if got := commandAggregate(tc.in); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestCommandsPagingAndFilters(t *testing.T) {
	t.Parallel()
	s := commandSim(t, nil)
	s.Advance(4 * 24 * time.Hour)
	c := newClient(t, serve(t, s), defaultCreds)
	region := tea.String("cn-hangzhou")
	want := listedCommands(s, "cn-hangzhou")
	if len(want) < 300 {
		t.Fatalf("setup: %d commands", len(want))
	}
	if got := walkInvocations(t, c, ecs.DescribeInvocationsRequest{RegionId: region}, 23); !equalStrings(invokeIDs(got), commandIDs(want)) {
		t.Fatalf("token walk: %d tasks, want %d in listing order", len(got), len(want))
	}
	var paged []*cmdInvocation
	for page := int64(1); ; page++ {
		resp, err := c.DescribeInvocations(&ecs.DescribeInvocationsRequest{RegionId: region, PageNumber: tea.Int64(page), PageSize: tea.Int64(50)})
		if err != nil {
			t.Fatal(err)
		}
		if tea.Int64Value(resp.Body.TotalCount) != int64(len(want)) {
			t.Fatalf("TotalCount %d, want %d", tea.Int64Value(resp.Body.TotalCount), len(want))
		}
		if len(resp.Body.Invocations.Invocation) == 0 {
			break
		}
		paged = append(paged, resp.Body.Invocations.Invocation...)
	}
	if !equalStrings(invokeIDs(paged), commandIDs(want)) {
		t.Fatalf("page walk: %d tasks, want %d", len(paged), len(want))
	}

	now := s.Now()
	sample := want[7]
	filters := []struct {
		name string
		req  ecs.DescribeInvocationsRequest
		keep func(ct CommandTruth) bool
	}{
		{"CommandName", ecs.DescribeInvocationsRequest{CommandName: tea.String(sample.CommandName)}, func(ct CommandTruth) bool { return ct.CommandName == sample.CommandName }},
		{"CommandId", ecs.DescribeInvocationsRequest{CommandId: tea.String(sample.CommandID)}, func(ct CommandTruth) bool { return ct.CommandID == sample.CommandID }},
		{"CommandType", ecs.DescribeInvocationsRequest{CommandType: tea.String("RunBatScript")}, func(ct CommandTruth) bool { return ct.CommandType == "RunBatScript" }},
		{"RepeatMode", ecs.DescribeInvocationsRequest{RepeatMode: tea.String(RepeatPeriod)}, func(ct CommandTruth) bool { return ct.RepeatMode == RepeatPeriod }},
		{"Timed", ecs.DescribeInvocationsRequest{Timed: tea.Bool(true)}, func(ct CommandTruth) bool { return ct.timedAt(now) }},
		{"ResourceGroupId", ecs.DescribeInvocationsRequest{ResourceGroupId: tea.String(sample.ResourceGroupID)}, func(ct CommandTruth) bool { return ct.ResourceGroupID == sample.ResourceGroupID }},
		{"InvokeId", ecs.DescribeInvocationsRequest{InvokeId: tea.String(sample.InvokeID)}, func(ct CommandTruth) bool { return ct.InvokeID == sample.InvokeID }},
		{"InstanceId", ecs.DescribeInvocationsRequest{InstanceId: tea.String(sample.Instances[0].InstanceID)}, func(ct CommandTruth) bool {
			for _, it := range ct.Instances {
				if it.InstanceID == sample.Instances[0].InstanceID {
					return true
				}
			}
			return false
		}},
		{"Tag", ecs.DescribeInvocationsRequest{Tag: []*ecs.DescribeInvocationsRequestTag{{Key: tea.String("env"), Value: tea.String("prod")}}}, func(ct CommandTruth) bool {
			return matchTags([]tagFilter{{key: "env", value: "prod", hasValue: true}}, ct.Tags)
		}},
	}
	for _, st := range []string{StatusSuccess, StatusFailed, StatusPartialFailed, StatusScheduled, StatusStopped} {
		filters = append(filters, struct {
			name string
			req  ecs.DescribeInvocationsRequest
			keep func(ct CommandTruth) bool
		}{"InvokeStatus=" + st, ecs.DescribeInvocationsRequest{InvokeStatus: tea.String(st)}, func(ct CommandTruth) bool { return ct.aggregateAt(now) == st }})
	}
	for _, f := range filters {
		var exp []CommandTruth
		for _, ct := range want {
			if f.keep(ct) {
				exp = append(exp, ct)
			}
		}
		req := f.req
		req.RegionId = region
		got := walkInvocations(t, c, req, 50)
		if len(exp) == 0 || !equalStrings(invokeIDs(got), commandIDs(exp)) {
			t.Errorf("%s: %d tasks, want %d (non-zero)", f.name, len(got), len(exp))
		}
	}
}

func TestCommandsIncludeOutputAndTruncation(t *testing.T) {
	t.Parallel()
	s := commandSim(t, func(c *Config) { c.CommandsPerDay = 400 })
	s.Advance(3 * 24 * time.Hour)
	c := newClient(t, serve(t, s), defaultCreds)
	region := tea.String("cn-hangzhou")
	_, err := c.DescribeInvocations(&ecs.DescribeInvocationsRequest{RegionId: region, IncludeOutput: tea.Bool(true)})
	wantCode(t, "IncludeOutput alone", err, "InvalidParameter.IncludeOutput", 400)

	// Find a finished Once run with more than 24 KB of output.
	var big CommandTruth
	var bigIdx int
	for _, ct := range listedCommands(s, "cn-hangzhou") {
		for i, it := range ct.Instances {
			if !it.Periodic && len(it.Runs) == 1 && len(it.Runs[0].Output) > maxOutputBytes && !s.Now().Before(it.Finish) {
				big, bigIdx = ct, i
			}
		}
	}
	if big.InvokeID == "" {
		t.Fatal("setup: no run with more than 24 KB of output")
	}
	run := big.Instances[bigIdx].Runs[0]
	for _, plain := range []bool{false, true} {
		req := &ecs.DescribeInvocationsRequest{RegionId: region, InvokeId: tea.String(big.InvokeID), IncludeOutput: tea.Bool(true)}
		if plain {
			req.ContentEncoding = tea.String("PlainText")
		}
		resp, err := c.DescribeInvocations(req)
		if err != nil || len(resp.Body.Invocations.Invocation) != 1 {
			t.Fatalf("by InvokeId: %v", err)
		}
		inv := resp.Body.Invocations.Invocation[0]
		inst := inv.InvokeInstances.InvokeInstance[bigIdx]
		out := tea.StringValue(inst.Output)
		content := tea.StringValue(inv.CommandContent)
		if !plain {
			b, _ := base64.StdEncoding.DecodeString(out)
			out = string(b)
			b, _ = base64.StdEncoding.DecodeString(content)
			content = string(b)
		}
		want, _ := decodeBase64(big.CommandContent)
		if out != run.Output[:maxOutputBytes] || tea.Int32Value(inst.Dropped) != int32(len(run.Output)-maxOutputBytes) || content != want {
			t.Errorf("plain=%t: output %d bytes, Dropped %d; want %d bytes, Dropped %d; content ok %t",
				plain, len(out), tea.Int32Value(inst.Dropped), maxOutputBytes, len(run.Output)-maxOutputBytes, content == want)
		}
		if tea.Int64Value(inst.ExitCode) != run.ExitCode {
			t.Errorf("ExitCode %d, want %d", tea.Int64Value(inst.ExitCode), run.ExitCode)
		}
	}
	// Without IncludeOutput there is no output, Dropped still counts.
	resp, err := c.DescribeInvocations(&ecs.DescribeInvocationsRequest{RegionId: region, InvokeId: tea.String(big.InvokeID)})
	if err != nil || resp.Body.Invocations.Invocation[0].InvokeInstances.InvokeInstance[bigIdx].Output != nil {
		t.Errorf("output rendered without IncludeOutput (%v)", err)
	}
	// DescribeInvocationResults always carries the output.
	res, err := c.DescribeInvocationResults(&ecs.DescribeInvocationResultsRequest{RegionId: region, InvokeId: tea.String(big.InvokeID),
		InstanceId: tea.String(big.Instances[bigIdx].InstanceID), ContentEncoding: tea.String("PlainText")})
	if err != nil || len(res.Body.Invocation.InvocationResults.InvocationResult) != 1 {
		t.Fatalf("results: %v", err)
	}
	r := res.Body.Invocation.InvocationResults.InvocationResult[0]
	if tea.StringValue(r.Output) != run.Output[:maxOutputBytes] || tea.Int32Value(r.Repeats) != 1 {
		t.Errorf("result output %d bytes, Repeats %d", len(tea.StringValue(r.Output)), tea.Int32Value(r.Repeats))
	}
}

func TestCommandsHistory(t *testing.T) {
	t.Parallel()
	s := commandSim(t, nil)
	s.Advance(2 * 24 * time.Hour)
	var periodic, once CommandTruth
	for _, ct := range listedCommands(s, "cn-hangzhou") {
		if ct.RepeatMode == RepeatPeriod && periodic.InvokeID == "" && ct.timedAt(s.Now()) {
			periodic = ct
		}
		if ct.RepeatMode == RepeatOnce {
			once = ct
		}
	}
	if periodic.InvokeID == "" {
		t.Fatal("setup: no recent periodic task")
	}
	c := newClient(t, serve(t, s), defaultCreds)
	region := tea.String("cn-hangzhou")
	_, err := c.DescribeInvocationResults(&ecs.DescribeInvocationResultsRequest{RegionId: region, InvokeId: tea.String(once.InvokeID), IncludeHistory: tea.Bool(true)})
	wantCode(t, "history of a Once task", err, "InvalidParameter.IncludeHistory", 400)
	_, err = c.DescribeInvocationResults(&ecs.DescribeInvocationResultsRequest{RegionId: region, IncludeHistory: tea.Bool(true)})
	wantCode(t, "history without InvokeId", err, "MissingParameter.InvokeId", 400)

	// Walk the task's whole life minute by minute.
	end := periodic.CreationTime
	for _, it := range periodic.Instances {
		end = later(end, it.Finish)
	}
	sawRunning := false
	for s.Now().Before(end.Add(time.Minute)) {
		now := s.Now()
		type rk struct {
			inst    string
			repeats int
		}
		wantRuns := map[rk]RunTruth{}
		for _, it := range periodic.Instances {
			for _, r := range it.Runs {
				if !now.Before(r.Start) {
					wantRuns[rk{it.InstanceID, r.Repeats}] = r
				}
			}
		}
		got := walkHistory(t, c, periodic.InvokeID)
		if len(got) != len(wantRuns) {
			t.Fatalf("%v: %d history results, want %d", now, len(got), len(wantRuns))
		}
		for i, r := range got {
			w, ok := wantRuns[rk{tea.StringValue(r.InstanceId), int(tea.Int32Value(r.Repeats))}]
			if !ok {
				t.Fatalf("%v: unexpected result %s run %d", now, tea.StringValue(r.InstanceId), tea.Int32Value(r.Repeats))
			}
			if i > 0 && tea.Int32Value(got[i-1].Repeats) < tea.Int32Value(r.Repeats) {
				t.Fatalf("%v: history not newest run first", now)
			}
			status := tea.StringValue(r.InvocationStatus)
			if !mustParseTime(t, "StartTime", tea.StringValue(r.StartTime)).Equal(w.Start) {
				t.Fatalf("StartTime %s, want %v", tea.StringValue(r.StartTime), w.Start)
			}
			if now.Before(w.Finish) {
				if status != StatusRunning || r.FinishedTime != nil || r.ExitCode != nil {
					t.Fatalf("%v: running run shows %s", now, status)
				}
				sawRunning = true
				continue
			}
			if status != w.Status || tea.Int64Value(r.ExitCode) != w.ExitCode || tea.StringValue(r.Output) != firstOutput(w.Output) ||
				!mustParseTime(t, "FinishedTime", tea.StringValue(r.FinishedTime)).Equal(w.Finish) {
				t.Fatalf("%v: run %d: %s exit %d, want %s exit %d", now, w.Repeats, status, tea.Int64Value(r.ExitCode), w.Status, w.ExitCode)
			}
		}
		s.Advance(time.Minute)
	}
	if !sawRunning {
		t.Error("the walk never saw a running run")
	}
}

// walkHistory pages DescribeInvocationResults with IncludeHistory, seven
// results a page, in clear text.
func walkHistory(t *testing.T, c *ecs.Client, invokeID string) []*cmdResult {
	t.Helper()
	var got []*cmdResult
	token := ""
	for {
		req := &ecs.DescribeInvocationResultsRequest{RegionId: tea.String("cn-hangzhou"), InvokeId: tea.String(invokeID),
			IncludeHistory: tea.Bool(true), ContentEncoding: tea.String("PlainText"), MaxResults: tea.Int32(7)}
		if token != "" {
			req.NextToken = tea.String(token)
		}
		resp, err := c.DescribeInvocationResults(req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.Body.Invocation.InvocationResults.InvocationResult...)
		if token = tea.StringValue(resp.Body.Invocation.NextToken); token == "" {
			return got
		}
	}
}

// firstOutput is the part of an output the API returns.
func firstOutput(full string) string {
	out, _ := renderedOutput(full)
	return out
}

// At many instants every listed task's rendering agrees with the truth:
// aggregate, per-instance status, times (each at the status it starts),
// repeats and exit codes.
func TestCommandsMatchTruthOverTime(t *testing.T) {
	t.Parallel()
	s := commandSim(t, func(c *Config) { c.CommandsPerDay = 300 })
	s.Advance(24 * time.Hour)
	c := newClient(t, serve(t, s), defaultCreds)
	seen := map[string]bool{}
	for step := 0; step < 90; step++ {
		s.Advance(time.Duration(1+step%7) * time.Minute)
		now := s.Now()
		resp, err := c.DescribeInvocations(&ecs.DescribeInvocationsRequest{RegionId: tea.String("cn-hangzhou"), MaxResults: tea.Int32(50)})
		if err != nil {
			t.Fatal(err)
		}
		for _, inv := range resp.Body.Invocations.Invocation {
			id := tea.StringValue(inv.InvokeId)
			agg, members, ok := s.TaskStatusAt(SourceCommands, id, now)
			if !ok || tea.StringValue(inv.InvocationStatus) != agg {
				t.Fatalf("%v %s: InvocationStatus %s, truth %s", now, id, tea.StringValue(inv.InvocationStatus), agg)
			}
			seen[agg] = true
			ct, _ := s.Command(id)
			if tea.BoolValue(inv.Timed) != ct.timedAt(now) {
				t.Fatalf("%s: Timed %t", id, tea.BoolValue(inv.Timed))
			}
			for i, inst := range inv.InvokeInstances.InvokeInstance {
				it := ct.Instances[i]
				status := tea.StringValue(inst.InvocationStatus)
				if status != members[it.InstanceID] {
					t.Fatalf("%s/%s: %s, truth %s", id, it.InstanceID, status, members[it.InstanceID])
				}
				checkCommandTimes(t, it, inst, now)
			}
		}
	}
	for _, agg := range []string{StatusPending, StatusRunning, StatusSuccess, StatusPartialFailed, StatusScheduled} {
		if !seen[agg] {
			t.Errorf("aggregate %s never seen", agg)
		}
	}
}

// checkCommandTimes checks the rendered times of one instance against its
// lifecycle: a time is shown only once reached, and the status at each
// rendered time is the one that begins there.
func checkCommandTimes(t *testing.T, it CommandInstanceTruth, inst *ecs.DescribeInvocationsResponseBodyInvocationsInvocationInvokeInstancesInvokeInstance, now time.Time) {
	t.Helper()
	if v := tea.StringValue(inst.StartTime); v != "" {
		start := mustParseTime(t, "StartTime", v)
		if st, _ := it.StatusAt(start); st != StatusRunning || start.After(now) {
			t.Fatalf("%s: StartTime %v opens %s", it.InstanceID, start, st)
		}
	}
	if v := tea.StringValue(inst.FinishTime); v != "" {
		fin := mustParseTime(t, "FinishTime", v)
		st, _ := it.StatusAt(fin)
		if fin.After(now) || (st != it.Final && st != StatusScheduled) {
			t.Fatalf("%s: FinishTime %v opens %s", it.InstanceID, fin, st)
		}
	}
	if v := tea.StringValue(inst.StopTime); v != "" {
		stop := mustParseTime(t, "StopTime", v)
		if !stop.Equal(it.StopTime) {
			t.Fatalf("%s: StopTime %v, truth %v", it.InstanceID, stop, it.StopTime)
		}
	}
	started := 0
	for _, r := range it.Runs {
		if !now.Before(r.Start) {
			started++
		}
	}
	if int(tea.Int32Value(inst.Repeats)) != started {
		t.Fatalf("%s: Repeats %d, want %d", it.InstanceID, tea.Int32Value(inst.Repeats), started)
	}
}

func TestCommandsRetentionAndCapPerSource(t *testing.T) {
	t.Parallel()
	s := commandSim(t, func(c *Config) { c.MaxRecords = 40; c.SendsPerDay = 100; c.CommandsPerDay = 100 })
	s.Advance(3 * 24 * time.Hour)
	if n, m := len(listedTruth(s, "cn-hangzhou")), len(listedCommands(s, "cn-hangzhou")); n != 40 || m != 40 {
		t.Fatalf("listed %d sends and %d commands, want 40 each", n, m)
	}
	c := newClient(t, serve(t, s), defaultCreds)
	got := walkInvocations(t, c, ecs.DescribeInvocationsRequest{RegionId: tea.String("cn-hangzhou")}, 50)
	if !equalStrings(invokeIDs(got), commandIDs(listedCommands(s, "cn-hangzhou"))) {
		t.Fatal("the API lists other commands than the truth")
	}

	r := commandSim(t, func(c *Config) { c.Retention = 36 * time.Hour })
	r.Advance(5 * 24 * time.Hour)
	cutoff := r.Now().Add(-36 * time.Hour)
	for _, ct := range r.Commands() {
		if listed := r.TaskListed(SourceCommands, "cn-hangzhou", ct.InvokeID); listed == ct.CreationTime.Before(cutoff) {
			t.Fatalf("%s created %v: listed %t with cutoff %v", ct.InvokeID, ct.CreationTime, listed, cutoff)
		}
	}
}

func TestCommandsDeterministicAcrossChunks(t *testing.T) {
	t.Parallel()
	tweak := func(c *Config) {
		c.Regions = []string{"cn-hangzhou", "cn-beijing"}
		c.EFLOSendsPerDay = 30
		c.EFLOCommandsPerDay = 30
	}
	a, b := commandSim(t, tweak), commandSim(t, tweak)
	a.Advance(5 * 24 * time.Hour)
	for range 5 * 24 * 4 {
		b.Advance(15 * time.Minute)
	}
	if !reflect.DeepEqual(a.Commands(), b.Commands()) || !reflect.DeepEqual(a.EFLOTasks(), b.EFLOTasks()) ||
		!reflect.DeepEqual(a.Sends(), b.Sends()) {
		t.Fatal("chunked advance changed the world")
	}
	body := func(s *Sim) string {
		w := do(s, signedRequest(t, "example.com", map[string]string{"RegionId": "cn-beijing", "MaxResults": "50"}, defaultCreds,
			func(h map[string]*string) { h["x-acs-action"] = tea.String(actionInvocations) }))
		if w.Code != 200 || !json.Valid(w.Body.Bytes()) || !strings.Contains(w.Body.String(), `"InvokeId":"t-`) {
			t.Fatalf("DescribeInvocations: %d %.300s", w.Code, w.Body.String())
		}
		return w.Body.String()
	}
	if body(a) != body(b) {
		t.Fatal("same seed, different DescribeInvocations bodies")
	}
	// Enabling commands and EFLO leaves the send-file world untouched.
	plain := newSim(t, func(c *Config) { c.Regions = []string{"cn-hangzhou", "cn-beijing"} })
	plain.Advance(5 * 24 * time.Hour)
	if !reflect.DeepEqual(plain.Sends(), a.Sends()) {
		t.Fatal("commands changed the sends")
	}
}
