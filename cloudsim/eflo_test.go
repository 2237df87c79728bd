package cloudsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func efloSim(t testing.TB, tweak func(*Config)) *Sim {
	return newSim(t, func(c *Config) {
		c.EFLOSendsPerDay = 80
		c.EFLOCommandsPerDay = 80
		c.Regions = []string{"cn-wulanchabu", "cn-shanghai"}
		if tweak != nil {
			tweak(c)
		}
	})
}

// callEFLO calls an EFLO operation through the generic client.
func callEFLO(t testing.TB, host, action string, q map[string]any) (map[string]any, error) {
	t.Helper()
	return callRPC(t, host, defaultCreds, action, efloVersion, q)
}

// efloTasksOf returns the EFLO tasks of one kind, newest last.
func efloTasksOf(s *Sim, kind string) []EFLOTaskTruth {
	var out []EFLOTaskTruth
	for _, tk := range s.EFLOTasks() {
		if tk.Kind == kind {
			out = append(out, tk)
		}
	}
	return out
}

func efloList(body map[string]any, inner string) []any {
	return body["Invocations"].(map[string]any)["Invocation"].([]any)
}

func efloNodes(inv map[string]any) []any {
	return inv["InvokeNodes"].(map[string]any)["InvokeNode"].([]any)
}

func TestEFLORequestsAndEmptyAnswers(t *testing.T) {
	t.Parallel()
	s := efloSim(t, nil)
	s.Advance(24 * time.Hour)
	host := serve(t, s)
	for _, action := range []string{"DescribeSendFileResults", "DescribeInvocations"} {
		_, err := callEFLO(t, host, action, map[string]any{"RegionId": "cn-wulanchabu"})
		wantCode(t, action+" without InvokeId", err, "MissingParameter.InvokeId", 400)
		_, err = callEFLO(t, host, action, map[string]any{"InvokeId": "t-abc"})
		wantCode(t, action+" without RegionId", err, "MissingParameter.RegionId", 400)
		_, err = callEFLO(t, host, action, map[string]any{"RegionId": "eu-nowhere-1", "InvokeId": "t-abc"})
		wantCode(t, action+" unknown region", err, "InvalidRegionId.NotFound", 404)
	}
	body, err := callEFLO(t, host, "DescribeSendFileResults", map[string]any{"RegionId": "cn-wulanchabu", "InvokeId": "t-000000000000000"})
	if err != nil || body["TotalCount"] != "0" || len(efloList(body, "")) != 0 {
		t.Errorf("unknown send-file id: %v %v", body, err)
	}
	// A task of another region is unknown here.
	snd := efloTasksOf(s, EFLOKindSendFile)[0]
	other := "cn-shanghai"
	if snd.Region == other {
		other = "cn-wulanchabu"
	}
	body, err = callEFLO(t, host, "DescribeSendFileResults", map[string]any{"RegionId": other, "InvokeId": snd.InvokeID})
	if err != nil || body["TotalCount"] != "0" {
		t.Errorf("other region: %v %v", body, err)
	}
	body, err = callEFLO(t, host, "DescribeInvocations", map[string]any{"RegionId": "cn-wulanchabu", "InvokeId": "t-000000000000000"})
	if err != nil || len(efloList(body, "")) != 0 {
		t.Errorf("unknown command id: %v %v", body, err)
	}
	// An ECS send-file id is not an EFLO task.
	s.Advance(time.Hour)
	body, err = callEFLO(t, host, "DescribeSendFileResults", map[string]any{"RegionId": "cn-wulanchabu", "InvokeId": s.Sends()[0].InvokeID})
	if err != nil || body["TotalCount"] != "0" {
		t.Errorf("ECS id: %v %v", body, err)
	}
}

func TestEFLOSendFileShapesAndTruth(t *testing.T) {
	t.Parallel()
	s := efloSim(t, nil)
	s.Advance(36 * time.Hour)
	host := serve(t, s)
	tasks := efloTasksOf(s, EFLOKindSendFile)
	if len(tasks) < 40 {
		t.Fatalf("setup: %d EFLO sends", len(tasks))
	}
	for _, tk := range tasks[len(tasks)-40:] {
		body, err := callEFLO(t, host, "DescribeSendFileResults", map[string]any{"RegionId": tk.Region, "InvokeId": tk.InvokeID})
		if err != nil {
			t.Fatal(err)
		}
		invs := efloList(body, "")
		if body["TotalCount"] != "1" || len(invs) != 1 {
			t.Fatalf("%s: TotalCount %#v, %d invocations", tk.InvokeID, body["TotalCount"], len(invs))
		}
		raw, _ := json.Marshal(body)
		if strings.Contains(string(raw), "InvokeId") || strings.Contains(string(raw), tk.InvokeID) {
			t.Fatalf("send-file body carries the InvokeId: %s", raw)
		}
		inv := invs[0].(map[string]any)
		if ow, ok := inv["Overwrite"].(bool); !ok || ow != tk.Send.Overwrite {
			t.Fatalf("Overwrite %#v, want JSON boolean %t", inv["Overwrite"], tk.Send.Overwrite)
		}
		agg, members, _ := s.TaskStatusAt(SourceEFLOSendFile, tk.InvokeID, s.Now())
		if inv["InvocationStatus"] != agg || inv["Name"] != tk.Send.Name || inv["TargetDir"] != tk.Send.TargetDir {
			t.Fatalf("%s: %v, truth %s", tk.InvokeID, inv, agg)
		}
		nodes := efloNodes(inv)
		if n, _ := inv["NodeCount"].(json.Number).Int64(); int(n) != len(tk.Send.Instances) || len(nodes) != int(n) {
			t.Fatalf("NodeCount %v, %d nodes", inv["NodeCount"], len(nodes))
		}
		for i, n := range nodes {
			node := n.(map[string]any)
			it := tk.Send.Instances[i]
			if node["NodeId"] != it.InstanceID || !strings.HasPrefix(it.InstanceID, "e01-cn-") || node["InvocationStatus"] != members[it.InstanceID] {
				t.Fatalf("node %d: %v, truth %s %s", i, node, it.InstanceID, members[it.InstanceID])
			}
			if v, ok := node["FinishTime"].(string); ok && !mustParseTime(t, "FinishTime", v).Equal(it.Finish) {
				t.Fatalf("FinishTime %s, truth %v", v, it.Finish)
			}
			if node["ErrorCode"] != it.ErrorCode && s.Now().After(it.Finish) {
				t.Fatalf("ErrorCode %v, truth %s", node["ErrorCode"], it.ErrorCode)
			}
		}
		// NodeId filters the nodes, NodeCount still counts them all.
		last := tk.Send.Instances[len(tk.Send.Instances)-1].InstanceID
		body, err = callEFLO(t, host, "DescribeSendFileResults", map[string]any{"RegionId": tk.Region, "InvokeId": tk.InvokeID, "NodeId": last})
		if err != nil {
			t.Fatal(err)
		}
		if nodes := efloNodes(efloList(body, "")[0].(map[string]any)); len(nodes) != 1 || nodes[0].(map[string]any)["NodeId"] != last {
			t.Fatalf("NodeId filter: %v", nodes)
		}
	}
}

func TestEFLOCommandsShapesAndTruth(t *testing.T) {
	t.Parallel()
	s := efloSim(t, nil)
	s.Advance(36 * time.Hour)
	host := serve(t, s)
	tasks := efloTasksOf(s, EFLOKindCommand)
	checked := 0
	for _, tk := range tasks[len(tasks)-40:] {
		body, err := callEFLO(t, host, "DescribeInvocations", map[string]any{"RegionId": tk.Region, "InvokeId": tk.InvokeID,
			"IncludeOutput": true, "ContentEncoding": "PlainText"})
		if err != nil {
			t.Fatal(err)
		}
		invs := efloList(body, "")
		if len(invs) != 1 {
			t.Fatalf("%s: %d invocations", tk.InvokeID, len(invs))
		}
		inv := invs[0].(map[string]any)
		agg, members, _ := s.TaskStatusAt(SourceEFLOCommands, tk.InvokeID, s.Now())
		if inv["InvokeId"] != tk.InvokeID || inv["InvocationStatus"] != agg || inv["RepeatMode"] != RepeatOnce {
			t.Fatalf("%s: %v, truth %s", tk.InvokeID, inv, agg)
		}
		if _, ok := inv["Timeout"].(json.Number); !ok {
			t.Fatalf("Timeout %#v is not a number", inv["Timeout"])
		}
		for i, n := range efloNodes(inv) {
			node := n.(map[string]any)
			it := tk.Command.Instances[i]
			if node["NodeId"] != it.InstanceID || node["InvocationStatus"] != members[it.InstanceID] {
				t.Fatalf("node %v, truth %s %s", node, it.InstanceID, members[it.InstanceID])
			}
			if node["Timed"] != "false" {
				t.Fatalf("Timed %#v, want the string \"false\"", node["Timed"])
			}
			if len(it.Runs) == 1 && !s.Now().Before(it.Runs[0].Finish) {
				out, _ := renderedOutput(it.Runs[0].Output)
				if node["Output"] != out {
					t.Fatalf("Output %q, want %q", node["Output"], out)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no finished node output checked")
	}
	// Without IncludeOutput there is no Output.
	tk := tasks[0]
	body, err := callEFLO(t, host, "DescribeInvocations", map[string]any{"RegionId": tk.Region, "InvokeId": tk.InvokeID})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range efloNodes(efloList(body, "")[0].(map[string]any)) {
		if _, ok := n.(map[string]any)["Output"]; ok {
			t.Fatal("Output without IncludeOutput")
		}
	}
}

func TestEFLOQuirks(t *testing.T) {
	t.Parallel()
	s := efloSim(t, func(c *Config) { c.Quirks = true })
	s.Advance(3 * 24 * time.Hour)
	host := serve(t, s)
	seen := map[string]bool{}
	for _, tk := range s.EFLOTasks() {
		action := "DescribeSendFileResults"
		if tk.Kind == EFLOKindCommand {
			action = "DescribeInvocations"
		}
		body, err := callEFLO(t, host, action, map[string]any{"RegionId": tk.Region, "InvokeId": tk.InvokeID})
		if err != nil {
			t.Fatal(err)
		}
		inv := efloList(body, "")[0].(map[string]any)
		checkQuirkTime(t, seen, inv["CreationTime"].(string), tk.CreationTime)
		if dir, _ := inv["TargetDir"].(string); strings.HasPrefix(dir, "\t") {
			seen["tab-dir"] = true
		}
		for _, n := range efloNodes(inv) {
			node := n.(map[string]any)
			if code, _ := node["ErrorCode"].(string); strings.HasPrefix(code, " ") {
				seen["space-code"] = true
			}
			for _, f := range []string{"StartTime", "FinishTime", "StopTime", "UpdateTime"} {
				if v, ok := node[f].(string); ok {
					checkQuirkTime(t, seen, v, time.Time{})
				}
			}
		}
	}
	for _, k := range []string{"tab-dir", "space-code", "tab-newline", "offset", "millis", "clean"} {
		if !seen[k] {
			t.Errorf("quirk %s never rendered", k)
		}
	}
}

// checkQuirkTime records the shape of a rendered time and, when want is
// set, checks it parses back to the truth.
func checkQuirkTime(t *testing.T, seen map[string]bool, v string, want time.Time) {
	t.Helper()
	got := mustParseTime(t, "time", v)
	if !want.IsZero() && !got.Equal(want) {
		t.Fatalf("%q parses to %v, truth %v", v, got, want)
	}
	switch {
	case strings.HasSuffix(v, "\t\n"):
		seen["tab-newline"] = true
	case strings.HasSuffix(v, "+08:00"):
		seen["offset"] = true
	case strings.HasSuffix(v, ".000Z"):
		seen["millis"] = true
	default:
		seen["clean"] = true
	}
}

func TestEFLORetentionFaultsAndControl(t *testing.T) {
	t.Parallel()
	s := efloSim(t, func(c *Config) { c.Retention = 24 * time.Hour; c.MaxRecords = 25 })
	s.Advance(4 * 24 * time.Hour)
	host := serve(t, s)
	for _, tk := range s.EFLOTasks() {
		src := SourceEFLOSendFile
		if tk.Kind == EFLOKindCommand {
			src = SourceEFLOCommands
		}
		listed := s.TaskListed(src, tk.Region, tk.InvokeID)
		if listed && tk.CreationTime.Before(s.Now().Add(-24*time.Hour)) {
			t.Fatalf("%s listed past retention", tk.InvokeID)
		}
		if !listed && tk.Kind == EFLOKindSendFile {
			body, err := callEFLO(t, host, "DescribeSendFileResults", map[string]any{"RegionId": tk.Region, "InvokeId": tk.InvokeID})
			if err != nil || body["TotalCount"] != "0" {
				t.Fatalf("evicted %s: %v %v", tk.InvokeID, body, err)
			}
		}
	}
	for _, src := range []string{SourceEFLOSendFile, SourceEFLOCommands} {
		n := 0
		for _, ref := range s.Tasks(src) {
			if ref.Region == "cn-shanghai" && s.TaskListed(src, ref.Region, ref.InvokeID) {
				n++
			}
		}
		if n != 25 {
			t.Errorf("%s: %d listed in cn-shanghai, want the cap of 25", src, n)
		}
	}

	// The control surface lists what automation would know.
	since := s.Now().Add(-6 * time.Hour)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/_sim/eflo/tasks?since="+since.Format(time.RFC3339), nil))
	var got []map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
		t.Fatalf("control surface: %d %v", w.Code, err)
	}
	want := 0
	for _, tk := range s.EFLOTasks() {
		if !tk.CreationTime.Before(since) {
			want++
		}
	}
	if len(got) != want || want == 0 || !strings.HasPrefix(got[0]["source"], "eflo.") || got[0]["invoke_id"] == "" {
		t.Fatalf("control surface: %d tasks, want %d: %v", len(got), want, got[:min(1, len(got))])
	}

	// Faults apply to EFLO calls too.
	s.SetFaults(Faults{ThrottleRate: 1})
	tk := s.EFLOTasks()[len(s.EFLOTasks())-1]
	_, err := callEFLO(t, host, "DescribeInvocations", map[string]any{"RegionId": tk.Region, "InvokeId": tk.InvokeID})
	if code, _ := sdkError(t, err); !strings.HasPrefix(code, "Throttling.") {
		t.Fatalf("throttled EFLO call: %s", code)
	}
}
