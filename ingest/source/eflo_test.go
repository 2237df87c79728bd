package source_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
)

// The EFLO send-file reference sample: no InvokeId anywhere (the tracked id
// becomes the record's, and is not added to the verbatim fields), TotalCount
// a string, Overwrite a boolean, a tab before TargetDir, a newline after
// CreationTime, node ids where instance ids stand.
func TestParseEFLOSendFileSample(t *testing.T) {
	t.Parallel()
	p, err := source.ParseEFLOSendFilePage(readSample(t, "eflo-zh-tw.json"), "t-bj038i0d6r8zoqo")
	if err != nil {
		t.Fatalf("ParseEFLOSendFilePage: %v", err)
	}
	if p.RequestID != "4FD06DF0-9167-5C6F-A145-F30CA4A15D54" || len(p.Invocations) != 1 {
		t.Fatalf("page %+v", p)
	}
	inv := p.Invocations[0]
	if inv.InvokeID != "t-bj038i0d6r8zoqo" {
		t.Errorf("InvokeID %q, want the tracked id", inv.InvokeID)
	}
	if _, ok := inv.Raw["InvokeId"]; ok {
		t.Error("the verbatim fields gained an InvokeId the cloud never sent")
	}
	if _, ok := inv.Raw["InvokeNodes"]; ok {
		t.Error("the verbatim invocation keeps its nodes (they are the instances' payloads)")
	}
	if _, ok := inv.Raw["Content"]; ok || inv.Content != "Base64" || inv.Attributes.ContentSHA256 != sha("Base64") {
		t.Errorf("Content %q, hash %s, Raw %v", inv.Content, inv.Attributes.ContentSHA256, inv.Raw["Content"])
	}
	a := inv.Attributes
	if a.VMCount == nil || *a.VMCount != 3 {
		t.Errorf("vm_count %v, want NodeCount 3", a.VMCount)
	}
	if a.TargetDir != "/home/user" || inv.Raw["TargetDir"] != "\t/home/user" {
		t.Errorf("TargetDir %q, Raw %q", a.TargetDir, inv.Raw["TargetDir"])
	}
	if !eqTime(a.CreationTime, mustTime(t, "2023-04-10T02:53:46.156Z")) || inv.Raw["CreationTime"] != "2023-04-10T10:53:46.156+08:00\n" {
		t.Errorf("CreationTime %v, Raw %q", a.CreationTime, inv.Raw["CreationTime"])
	}
	if a.Overwrite == nil || !*a.Overwrite || inv.Raw["Overwrite"] != true {
		t.Errorf("Overwrite %v, Raw %#v", a.Overwrite, inv.Raw["Overwrite"])
	}
	if a.FileMode != "0644" || a.FileOwner != "root" || a.Name != "test" || inv.ReportedStatus != model.AggregatePending {
		t.Errorf("attributes %+v, reported %q", a, inv.ReportedStatus)
	}
	if len(inv.Instances) != 1 {
		t.Fatalf("%d nodes, want 1", len(inv.Instances))
	}
	in := inv.Instances[0]
	if in.InstanceID != "e01-cn-9lb3c15m81j" || in.Status != model.StatusSuccess || in.ErrorCode != "AccountNotExists" ||
		!eqTime(in.FinishTime, mustTime(t, "2023-04-10T02:53:46.156Z")) || !eqTime(in.StartTime, mustTime(t, "2023-03-30T16:00:00Z")) {
		t.Errorf("node %+v", in)
	}
}

// The EFLO commands reference sample: its own InvokeId, " NodeNotExists"
// with a leading space, a StopTime ending in "\t\n", Timed a string, and
// an Output taken out of the verbatim node into its hash.
func TestParseEFLOCommandSample(t *testing.T) {
	t.Parallel()
	p, err := source.ParseEFLOCommandPage(readSample(t, "eflo-invocations-zh.json"), "t-ind3k9ytvvduoe8")
	if err != nil {
		t.Fatalf("ParseEFLOCommandPage: %v", err)
	}
	if len(p.Invocations) != 1 {
		t.Fatalf("%d invocations", len(p.Invocations))
	}
	inv := p.Invocations[0]
	a := inv.Attributes
	if inv.InvokeID != "t-ind3k9ytvvduoe8" || a.Name != "CommandTestName" || a.Description != "testDescription" ||
		a.RepeatMode != "Once" || a.Frequency != "0 */20 * * * *" || a.Username != "root" || a.WorkingDir != "/home" ||
		a.Timeout == nil || *a.Timeout != 60 || !a.IsCommand() {
		t.Errorf("attributes %+v", a)
	}
	if inv.Content != "cnBtIC1xYSB8IGdyZXAgdnNm****" || a.ContentSHA256 != sha(inv.Content) || inv.Raw["CommandContent"] != nil {
		t.Errorf("script %q %s", inv.Content, a.ContentSHA256)
	}
	if inv.ReportedStatus != model.AggregateSuccess {
		t.Errorf("reported %q", inv.ReportedStatus)
	}
	in := inv.Instances[0]
	if in.InstanceID != "e01-cn-lbj36wkp70b" || in.Status != model.StatusPending {
		t.Errorf("node %q %q", in.InstanceID, in.Status)
	}
	if in.ErrorCode != "NodeNotExists" || in.Raw["ErrorCode"] != " NodeNotExists" {
		t.Errorf("ErrorCode %q, Raw %q", in.ErrorCode, in.Raw["ErrorCode"])
	}
	if !eqTime(in.StopTime, mustTime(t, "2019-12-20T06:15:55Z")) || in.Raw["StopTime"] != "2019-12-20T06:15:55Z\t\n" {
		t.Errorf("StopTime %v, Raw %q", in.StopTime, in.Raw["StopTime"])
	}
	if in.Output != "OutPutTestmsg" || in.OutputSHA256 != sha("OutPutTestmsg") || in.Raw["Output"] != nil {
		t.Errorf("output %q %s, Raw %v", in.Output, in.OutputSHA256, in.Raw["Output"])
	}
	if in.Raw["Timed"] != "false" || in.ExitCode == nil || *in.ExitCode != 0 || in.Repeats == nil || *in.Repeats != 0 {
		t.Errorf("node results %+v", in)
	}
}

func TestParseEFLOAnswersWithoutTheTask(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"RequestId":"r","TotalCount":"0","Invocations":{"Invocation":[]}}`,
		`{"RequestId":"r","Invocations":{}}`,
		`{"RequestId":"r"}`,
	} {
		for name, parse := range map[string]func([]byte, string) (source.Page, error){
			"send-file": source.ParseEFLOSendFilePage, "commands": source.ParseEFLOCommandPage} {
			p, err := parse([]byte(body), "t-x")
			if err != nil || len(p.Invocations) != 0 || p.RequestID != "r" {
				t.Errorf("%s %s: %+v %v", name, body, p, err)
			}
		}
	}
}

func TestParseEFLOMalformed(t *testing.T) {
	t.Parallel()
	node := `{"InvocationStatus":"Success","NodeId":"e01-a"}`
	for _, c := range []struct{ body, id, want string }{
		{`null`, "t-x", "null"},
		{`{"Invocations":{"Invocation":[]}} }`, "t-x", "trailing"},
		{`{"Invocations":{"Invocation":[{"Name":"a"},{"Name":"b"}]}}`, "t-x", "without an InvokeId"},
		{`{"Invocations":{"Invocation":[{"Name":"a"}]}}`, " ", "none was asked for"},
		{`{"Invocations":{"Invocation":[{"InvokeNodes":{"InvokeNode":[{"InvocationStatus":"Success"}]}}]}}`, "t-x", "NodeId"},
		{`{"Invocations":{"Invocation":[{"InvokeNodes":{"InvokeNode":` + node + `}}]}}`, "t-x", "not an array"},
		{`{"Invocations":{"Invocation":["x"]}}`, "t-x", "not an object"},
	} {
		_, err := source.ParseEFLOSendFilePage([]byte(c.body), c.id)
		if !errors.Is(err, source.ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrMalformed saying %q", c.body, err, c.want)
		}
	}
	// Records that name themselves are fine, however many.
	p, err := source.ParseEFLOCommandPage([]byte(`{"Invocations":{"Invocation":[{"InvokeId":"t-a"},{"InvokeId":"t-b"}]}}`), "t-a")
	if err != nil || len(p.Invocations) != 2 || p.Invocations[1].InvokeID != "t-b" {
		t.Errorf("named records: %+v %v", p, err)
	}
}

func TestNewTrackedClientRefusesListedSources(t *testing.T) {
	t.Parallel()
	_, err := source.NewTrackedClient(model.SourceSendFileResults, "cn-hangzhou", source.Options{})
	if err == nil || !strings.Contains(err.Error(), "not a tracked source") {
		t.Fatalf("ECS send-file as a tracked source: %v", err)
	}
}

// Every EFLO task of a simulator with the documented quirks on, looked up
// through the generic OpenAPI client: what the parsers read equals the
// truth, whatever shape each value came in.
func TestTrackedClientAgainstSimulatorWithQuirks(t *testing.T) {
	t.Parallel()
	sim, err := cloudsim.New(cloudsim.Config{Seed: 5, Quirks: true, EFLOSendsPerDay: 60, EFLOCommandsPerDay: 60,
		NodeFleetSize: 12, Regions: []string{"cn-wulanchabu"}})
	if err != nil {
		t.Fatal(err)
	}
	sim.Advance(30 * time.Hour)
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	cfg := sim.Config()
	typ := "access_key"
	cred, err := credentials.NewCredential(&credentials.Config{Type: &typ, AccessKeyId: &cfg.AccessKeyID, AccessKeySecret: &cfg.AccessKeySecret})
	if err != nil {
		t.Fatal(err)
	}
	opts := source.Options{Endpoint: srv.URL, Credential: cred}
	clients := map[string]*source.TrackedClient{}
	for _, src := range []model.SourceID{model.SourceEFLOSendFileResults, model.SourceEFLOCommands} {
		if clients[string(src)], err = source.NewTrackedClient(src, "cn-wulanchabu", opts); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	var quirks quirkCount
	for _, tk := range sim.EFLOTasks() {
		src := cloudsim.SourceEFLOSendFile
		if tk.Kind == cloudsim.EFLOKindCommand {
			src = cloudsim.SourceEFLOCommands
		}
		p, st, err := clients[src].Lookup(ctx, tk.InvokeID)
		if err != nil || st.Calls != 1 || len(p.Invocations) != 1 || p.ServedAt.IsZero() {
			t.Fatalf("%s %s: %d records, %+v, %v", src, tk.InvokeID, len(p.Invocations), st, err)
		}
		checkEFLOTask(t, sim, src, tk, p.Invocations[0], &quirks)
	}
	if quirks.errorSpace == 0 || quirks.timeTab == 0 || quirks.dirTab == 0 {
		t.Fatalf("the quirks were not exercised: %+v", quirks)
	}
	t.Logf("%d EFLO tasks read back; quirks seen: %+v", len(sim.EFLOTasks()), quirks)
	for src, c := range clients {
		p, _, err := c.Lookup(ctx, "t-doesnotexist00")
		if err != nil || len(p.Invocations) != 0 {
			t.Errorf("%s: an unknown id: %+v %v", src, p, err)
		}
	}
}

type quirkCount struct{ errorSpace, timeTab, dirTab int }

func checkEFLOTask(t *testing.T, sim *cloudsim.Sim, src string, tk cloudsim.EFLOTaskTruth, inv model.Invocation, q *quirkCount) {
	t.Helper()
	agg, members, ok := sim.TaskStatusAt(src, tk.InvokeID, sim.Now())
	if !ok || inv.InvokeID != tk.InvokeID || string(inv.ReportedStatus) != agg {
		t.Fatalf("%s: id %q reported %q, truth %q", tk.InvokeID, inv.InvokeID, inv.ReportedStatus, agg)
	}
	if !eqTime(inv.Attributes.CreationTime, tk.CreationTime) {
		t.Errorf("%s: CreationTime %v (raw %q), truth %v", tk.InvokeID, inv.Attributes.CreationTime, inv.Raw["CreationTime"], tk.CreationTime)
	}
	// Only the send-file answer counts its nodes (NodeCount).
	if n := inv.Attributes.VMCount; tk.Send != nil && (n == nil || *n != int64(len(members))) {
		t.Errorf("%s: vm_count %v (NodeCount %v), the task has %d nodes", tk.InvokeID, n, inv.Raw["NodeCount"], len(members))
	}
	if tk.Send != nil {
		if a := inv.Attributes; a.Overwrite == nil || *a.Overwrite != tk.Send.Overwrite || a.TargetDir != tk.Send.TargetDir {
			t.Errorf("%s: attributes %+v, truth %+v", tk.InvokeID, a, tk.Send)
		}
		if s, _ := inv.Raw["TargetDir"].(string); strings.HasPrefix(s, "\t") {
			q.dirTab++
		}
	}
	if len(inv.Instances) != len(members) {
		t.Fatalf("%s: %d nodes, truth %d", tk.InvokeID, len(inv.Instances), len(members))
	}
	for _, in := range inv.Instances {
		if string(in.Status) != members[in.InstanceID] {
			t.Errorf("%s/%s: %q, truth %q", tk.InvokeID, in.InstanceID, in.Status, members[in.InstanceID])
		}
		if raw, _ := in.Raw["ErrorCode"].(string); raw != "" && raw[0] == ' ' {
			q.errorSpace++
			if in.ErrorCode != strings.TrimSpace(raw) {
				t.Errorf("%s: ErrorCode %q from %q", tk.InvokeID, in.ErrorCode, raw)
			}
		}
		for _, f := range []string{"CreationTime", "UpdateTime", "StartTime", "FinishTime", "StopTime"} {
			if raw, _ := in.Raw[f].(string); strings.HasSuffix(raw, "\t\n") {
				q.timeTab++
			}
		}
		if !eqTime(in.CreationTime, tk.CreationTime) {
			t.Errorf("%s/%s: node CreationTime %v (raw %q)", tk.InvokeID, in.InstanceID, in.CreationTime, in.Raw["CreationTime"])
		}
	}
	if tk.Send != nil {
		checkSendNodeTimes(t, tk, inv)
	}
}

// checkSendNodeTimes compares each node's parsed Start and Finish with the
// truth, as far as the clock has revealed them.
func checkSendNodeTimes(t *testing.T, tk cloudsim.EFLOTaskTruth, inv model.Invocation) {
	t.Helper()
	truth := map[string]cloudsim.InstanceTruth{}
	for _, it := range tk.Send.Instances {
		truth[it.InstanceID] = it
	}
	for _, in := range inv.Instances {
		it := truth[in.InstanceID]
		if in.FinishTime != nil && !eqTime(in.FinishTime, it.Finish) {
			t.Errorf("%s/%s: FinishTime %v (raw %q), truth %v", tk.InvokeID, in.InstanceID, in.FinishTime, in.Raw["FinishTime"], it.Finish)
		}
		if in.StartTime != nil && !eqTime(in.StartTime, it.Start) {
			t.Errorf("%s/%s: StartTime %v (raw %q), truth %v", tk.InvokeID, in.InstanceID, in.StartTime, in.Raw["StartTime"], it.Start)
		}
		if in.FinishTime != nil && in.ErrorCode != it.ErrorCode {
			t.Errorf("%s/%s: ErrorCode %q, truth %q", tk.InvokeID, in.InstanceID, in.ErrorCode, it.ErrorCode)
		}
	}
}
