package cloudsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/alibabacloud-go/tea/tea"
)

func TestAggregateRule(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   []string
		want string
	}{
		{nil, StatusUnknown},
		{[]string{"Weird"}, StatusUnknown},
		{[]string{StatusPending, "Weird"}, StatusUnknown},
		{[]string{StatusPending, StatusRunning, StatusSuccess}, StatusPending},
		{[]string{StatusRunning, StatusFailed}, StatusRunning},
		{[]string{StatusSuccess, StatusSuccess}, StatusSuccess},
		{[]string{StatusInvalid, StatusAborted, StatusFailed, StatusTimeout, StatusError}, StatusFailed},
		{[]string{StatusSuccess, StatusTimeout}, StatusPartialFailed},
		{[]string{StatusInvalid}, StatusFailed},
	}
	for _, tc := range cases {
		if got := aggregateStatus(tc.in); got != tc.want {
			t.Errorf("aggregate(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestInstanceStatusBoundaries(t *testing.T) {
	t.Parallel()
	c := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	it := InstanceTruth{Creation: c, Start: c.Add(time.Minute), Finish: c.Add(2 * time.Minute), Final: StatusTimeout}
	for _, tc := range []struct {
		at   time.Time
		want string
		ok   bool
	}{
		{c.Add(-time.Second), "", false},
		{c, StatusPending, true},
		{c.Add(time.Minute - time.Millisecond), StatusPending, true},
		{c.Add(time.Minute), StatusRunning, true},
		{c.Add(2 * time.Minute), StatusTimeout, true},
	} {
		if got, ok := it.StatusAt(tc.at); got != tc.want || ok != tc.ok {
			t.Errorf("at %s: %s/%t, want %s/%t", tc.at, got, ok, tc.want, tc.ok)
		}
	}
	invalid := InstanceTruth{Creation: c, Finish: c.Add(3 * time.Second), Final: StatusInvalid}
	if got, _ := invalid.StatusAt(c.Add(2 * time.Second)); got != StatusPending {
		t.Errorf("never-started instance before Finish: %s", got)
	}
}

func TestDeterministicAcrossAdvanceChunks(t *testing.T) {
	t.Parallel()
	tweak := func(c *Config) {
		c.Regions = []string{"cn-hangzhou", "cn-beijing", "ap-southeast-1"}
		c.SendsPerDay = 40
		c.Quirks = true // millisecond creation times take part too
	}
	a, b := newSim(t, tweak), newSim(t, tweak)
	end := a.Now().Add(10 * 24 * time.Hour)
	a.Advance(10 * 24 * time.Hour)
	want := a.Sends()
	if len(want) < 1000 {
		t.Fatalf("setup: %d sends", len(want))
	}
	// Advance b in uneven chunks, every third step landing exactly on the
	// next arrival, which must then exist.
	g := newRNG(99)
	for i := 0; b.Now().Before(end); i++ {
		if i%3 == 0 {
			now := b.Now()
			j := sort.Search(len(want), func(k int) bool { return want[k].CreationTime.After(now) })
			if j < len(want) {
				b.Advance(want[j].CreationTime.Sub(now))
				if _, ok := b.Send(want[j].InvokeID); !ok {
					t.Fatalf("send %s created at exactly now=%s does not exist", want[j].InvokeID, b.Now())
				}
				continue
			}
		}
		step := time.Duration(g.between(1, 7*3600)) * time.Second
		b.Advance(min(step, end.Sub(b.Now())))
	}
	if got := b.Sends(); !reflect.DeepEqual(got, want) {
		t.Fatalf("chunked advance produced %d sends, one-step advance %d; they differ", len(got), len(want))
	}
	for i := 1; i < len(want); i++ {
		if want[i].CreationTime.Before(want[i-1].CreationTime) {
			t.Fatalf("Sends() not in creation order at %d", i)
		}
	}
	seen := map[string]bool{}
	idPattern := regexp.MustCompile(`^f-[a-z0-9]{20}$`)
	for _, st := range want {
		if seen[st.InvokeID] || !idPattern.MatchString(st.InvokeID) {
			t.Fatalf("bad or duplicate InvokeId %q", st.InvokeID)
		}
		seen[st.InvokeID] = true
	}

	// Identical requests to identically advanced sims answer identical bytes.
	ra := do(a, signedRequest(t, "h:1", map[string]string{"RegionId": "cn-beijing", "MaxResults": "50"}, defaultCreds, nil))
	rb := do(b, signedRequest(t, "h:1", map[string]string{"RegionId": "cn-beijing", "MaxResults": "50"}, defaultCreds, nil))
	if ra.Code != 200 || ra.Body.String() != rb.Body.String() {
		t.Fatalf("same seed, same request, different answers (%d)", ra.Code)
	}

	other := newSim(t, func(c *Config) { tweak(c); c.Seed++ })
	other.Advance(10 * 24 * time.Hour)
	if o := other.Sends(); len(o) > 0 && o[0].InvokeID == want[0].InvokeID {
		t.Fatal("different seeds produced the same first send")
	}
}

func TestGeneratedWorldIsPlausible(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.SendsPerDay = 200; c.FleetSize = 30; c.MaxInstancesPerSend = 5 })
	s.Advance(14 * 24 * time.Hour)
	sends := s.Sends()
	if n := len(sends); n < 14*200*8/10 || n > 14*200*12/10 {
		t.Fatalf("%d sends in 14 days at 200/day", n)
	}
	finals := map[string]int{}
	instances := map[string]bool{}
	base64Seen := false
	instPattern := regexp.MustCompile(`^i-[a-z0-9]{20}$`)
	for _, st := range sends {
		if len(st.Instances) < 1 || len(st.Instances) > 5 {
			t.Fatalf("%s targets %d instances", st.InvokeID, len(st.Instances))
		}
		base64Seen = base64Seen || st.ContentType == "Base64"
		dup := map[string]bool{}
		for _, it := range st.Instances {
			if dup[it.InstanceID] || !instPattern.MatchString(it.InstanceID) {
				t.Fatalf("bad or repeated instance %q in %s", it.InstanceID, st.InvokeID)
			}
			dup[it.InstanceID] = true
			instances[it.InstanceID] = true
			finals[it.Final]++
			if !it.Creation.Equal(st.CreationTime) || it.Creation.Nanosecond() != 0 || it.Finish.Nanosecond() != 0 {
				t.Fatalf("instance times not whole seconds or not at send creation: %+v", it)
			}
			if it.Final == StatusInvalid {
				if !it.Start.IsZero() || it.Finish.Sub(it.Creation) > 5*time.Second {
					t.Fatalf("invalid instance %+v", it)
				}
			} else if d := it.Start.Sub(it.Creation); d < time.Second || d > 10*time.Minute || it.Finish.Sub(it.Start) < time.Second || it.Finish.Sub(it.Start) > 2*time.Hour {
				t.Fatalf("instance timings %+v", it)
			}
			if (it.Final == StatusSuccess) != (it.ErrorCode == "") || (it.ErrorCode == "") != (it.ErrorInfo == "") {
				t.Fatalf("error details %+v", it)
			}
			if it.ErrorCode == "FileAlreadyExists" && st.Overwrite {
				t.Fatalf("FileAlreadyExists with Overwrite=true")
			}
		}
	}
	if len(instances) != 30 || !base64Seen {
		t.Errorf("fleet coverage %d/30, base64 seen %t", len(instances), base64Seen)
	}
	total := 0
	for _, n := range finals {
		total += n
	}
	if frac := float64(finals[StatusSuccess]) / float64(total); frac < 0.75 || frac > 0.85 {
		t.Errorf("success fraction %.3f", frac)
	}
	for _, st := range []string{StatusFailed, StatusTimeout, StatusError, StatusAborted, StatusInvalid} {
		if finals[st] == 0 {
			t.Errorf("no %s instances", st)
		}
	}
}

func TestEvictionByRetention(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.Retention = 24 * time.Hour; c.SendsPerDay = 100 })
	s.Advance(3 * 24 * time.Hour)
	c := newClient(t, serve(t, s), defaultCreds)
	cutoff := s.Now().Add(-24 * time.Hour)
	var evicted, kept []SendTruth
	for _, st := range s.Sends() {
		if st.CreationTime.Before(cutoff) {
			evicted = append(evicted, st)
		} else {
			kept = append(kept, st)
		}
		if s.Listed("cn-hangzhou", st.InvokeID) == st.CreationTime.Before(cutoff) {
			t.Fatalf("Listed(%s) disagrees with retention", st.InvokeID)
		}
	}
	if len(evicted) < 100 || len(kept) < 50 {
		t.Fatalf("setup: %d evicted, %d kept", len(evicted), len(kept))
	}
	got, _ := walkTokens(t, c, request{RegionId: tea.String("cn-hangzhou")}, 50, nil)
	if want := listedTruth(s, "cn-hangzhou"); !equalStrings(ids(got), truthIDs(want)) || len(got) != len(kept) {
		t.Fatalf("listing has %d records, want %d", len(got), len(kept))
	}
	old := evicted[0]
	resp, err := c.DescribeSendFileResults(&request{RegionId: tea.String("cn-hangzhou"), InvokeId: tea.String(old.InvokeID)})
	if err != nil || len(resp.Body.Invocations.Invocation) != 0 {
		t.Fatalf("evicted send still served: %v", err)
	}
	// The ground truth remembers it.
	if agg, inst, ok := s.StatusAt(old.InvokeID, old.CreationTime); !ok || agg != StatusPending || len(inst) != len(old.Instances) {
		t.Fatalf("StatusAt(evicted, creation) = %s %v %t", agg, inst, ok)
	}
	if _, _, ok := s.StatusAt(old.InvokeID, old.CreationTime.Add(-time.Second)); ok {
		t.Fatal("StatusAt before creation must not be ok")
	}
	if _, _, ok := s.StatusAt("f-doesnotexist0000000", s.Now()); ok {
		t.Fatal("StatusAt(unknown) must not be ok")
	}
}

func TestEvictionByRecordCap(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.MaxRecords = 100; c.SendsPerDay = 200 })
	s.Advance(2 * 24 * time.Hour)
	c := newClient(t, serve(t, s), defaultCreds)
	all := s.Sends()
	if len(all) < 300 {
		t.Fatalf("setup: %d sends", len(all))
	}
	want := listedTruth(s, "cn-hangzhou")
	if len(want) != 100 {
		t.Fatalf("%d listed, want the cap of 100", len(want))
	}
	// The listed ones are exactly the newest 100.
	newest := all[len(all)-100:]
	for _, st := range newest {
		if !s.Listed("cn-hangzhou", st.InvokeID) {
			t.Fatalf("newest send %s not listed", st.InvokeID)
		}
	}
	resp, err := c.DescribeSendFileResults(&request{RegionId: tea.String("cn-hangzhou"), PageSize: tea.Int64(50), PageNumber: tea.Int64(2)})
	if err != nil {
		t.Fatal(err)
	}
	if tea.Int64Value(resp.Body.TotalCount) != 100 || !equalStrings(ids(resp.Body.Invocations.Invocation), truthIDs(want[50:])) {
		t.Fatalf("page 2 of capped listing: TotalCount %d", tea.Int64Value(resp.Body.TotalCount))
	}
	if _, _, ok := s.StatusAt(all[0].InvokeID, s.Now()); !ok {
		t.Fatal("capped-out send lost from the ground truth")
	}
}

// TestStatusAtMatchesAPI compares every rendered field with the ground
// truth at several instants, while sends are in flight.
func TestStatusAtMatchesAPI(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.SendsPerDay = 300 })
	s.Advance(24 * time.Hour)
	c := newClient(t, serve(t, s), defaultCreds)
	clean := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	parse := func(field, v string) time.Time {
		if !clean.MatchString(v) {
			t.Fatalf("%s %q is not in the clean layout", field, v)
		}
		return mustParseTime(t, field, v)
	}
	seen := map[string]int{}
	for round := range 4 {
		if round > 0 {
			s.Advance(7 * time.Minute)
		}
		now := s.Now()
		got, _ := walkTokens(t, c, request{RegionId: tea.String("cn-hangzhou")}, 50, nil)
		if len(got) == 0 {
			t.Fatal("nothing listed")
		}
		for _, inv := range got {
			id := tea.StringValue(inv.InvokeId)
			st, ok := s.Send(id)
			agg, statuses, ok2 := s.StatusAt(id, now)
			if !ok || !ok2 {
				t.Fatalf("%s listed but unknown to the truth", id)
			}
			if tea.StringValue(inv.InvocationStatus) != agg {
				t.Fatalf("%s: API aggregate %s, truth %s", id, tea.StringValue(inv.InvocationStatus), agg)
			}
			if !parse("CreationTime", tea.StringValue(inv.CreationTime)).Equal(st.CreationTime) ||
				tea.StringValue(inv.Name) != st.Name || tea.StringValue(inv.Description) != st.Description ||
				tea.StringValue(inv.Content) != st.Content || tea.StringValue(inv.ContentType) != st.ContentType ||
				tea.StringValue(inv.TargetDir) != st.TargetDir || tea.StringValue(inv.FileMode) != st.FileMode ||
				tea.StringValue(inv.FileOwner) != st.FileOwner || tea.StringValue(inv.FileGroup) != st.FileGroup ||
				tea.StringValue(inv.Overwrite) != map[bool]string{true: "true", false: "false"}[st.Overwrite] ||
				int(tea.Int32Value(inv.VmCount)) != len(st.Instances) || len(inv.Tags.Tag) != len(st.Tags) {
				t.Fatalf("%s: rendered attributes differ from the truth", id)
			}
			for i, tag := range inv.Tags.Tag {
				if tea.StringValue(tag.TagKey) != st.Tags[i].Key || tea.StringValue(tag.TagValue) != st.Tags[i].Value {
					t.Fatalf("%s: tag %d differs", id, i)
				}
			}
			if len(inv.InvokeInstances.InvokeInstance) != len(st.Instances) {
				t.Fatalf("%s: %d instances rendered", id, len(inv.InvokeInstances.InvokeInstance))
			}
			for i, ri := range inv.InvokeInstances.InvokeInstance {
				it := st.Instances[i]
				status := tea.StringValue(ri.InvocationStatus)
				seen[status]++
				if tea.StringValue(ri.InstanceId) != it.InstanceID || status != statuses[it.InstanceID] {
					t.Fatalf("%s/%s: API %s, truth %s", id, it.InstanceID, status, statuses[it.InstanceID])
				}
				if !parse("CreationTime", tea.StringValue(ri.CreationTime)).Equal(it.Creation) {
					t.Fatalf("instance CreationTime differs")
				}
				started := !it.Start.IsZero() && !now.Before(it.Start)
				finished := !now.Before(it.Finish)
				update := it.Creation
				if started {
					update = it.Start
					if !parse("StartTime", tea.StringValue(ri.StartTime)).Equal(it.Start) {
						t.Fatalf("StartTime differs")
					}
				} else if tea.StringValue(ri.StartTime) != "" {
					t.Fatalf("%s/%s: StartTime %q before start", id, it.InstanceID, tea.StringValue(ri.StartTime))
				}
				if finished {
					update = it.Finish
					if !parse("FinishTime", tea.StringValue(ri.FinishTime)).Equal(it.Finish) ||
						tea.StringValue(ri.ErrorCode) != it.ErrorCode || tea.StringValue(ri.ErrorInfo) != it.ErrorInfo {
						t.Fatalf("%s/%s: finish details differ", id, it.InstanceID)
					}
				} else if tea.StringValue(ri.FinishTime) != "" || tea.StringValue(ri.ErrorCode) != "" || tea.StringValue(ri.ErrorInfo) != "" {
					t.Fatalf("%s/%s: finish details shown before finish", id, it.InstanceID)
				}
				if !parse("UpdateTime", tea.StringValue(ri.UpdateTime)).Equal(update) {
					t.Fatalf("%s/%s: UpdateTime %s, want %s", id, it.InstanceID, tea.StringValue(ri.UpdateTime), update)
				}
			}
		}
	}
	for _, st := range []string{StatusPending, StatusRunning, StatusSuccess, StatusFailed} {
		if seen[st] == 0 {
			t.Errorf("never observed an instance %s; the comparison is too weak", st)
		}
	}
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	faults := Faults{ThrottleRate: 0.2, ServerErrorRate: 0.1}
	wantStatus := map[string]int{"Throttling.User": 400, "Throttling.Api": 400, "InternalError.Dispatch": 500, "ServiceUnavailable": 503}
	// The statistics go straight through the handler (1,000 signed
	// requests); the SDK leg below checks how the codes reach a client.
	run := func() ([]string, Stats) {
		s := newSim(t, func(c *Config) { c.Faults = faults })
		s.Advance(24 * time.Hour)
		var outcomes []string
		for range 1000 {
			w := do(s, signedRequest(t, "h:1", map[string]string{"RegionId": "cn-hangzhou", "MaxResults": "1"}, defaultCreds, nil))
			if w.Code == 200 {
				outcomes = append(outcomes, "ok")
				continue
			}
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if want, ok := wantStatus[body["Code"]]; !ok || want != w.Code {
				t.Fatalf("unexpected error %d %s", w.Code, body["Code"])
			}
			outcomes = append(outcomes, body["Code"])
		}
		return outcomes, s.Stats()
	}
	first, st := run()
	count := map[string]int{}
	for _, o := range first {
		count[o]++
	}
	throttled := count["Throttling.User"] + count["Throttling.Api"]
	server := count["InternalError.Dispatch"] + count["ServiceUnavailable"]
	if throttled < 150 || throttled > 250 || server < 60 || server > 140 {
		t.Errorf("throttled %d, server errors %d out of 1000 at rates 0.2/0.1", throttled, server)
	}
	if d := count["Throttling.User"] - count["Throttling.Api"]; d < 0 || d > 1 {
		t.Errorf("throttling codes must alternate: %v", count)
	}
	for code := range wantStatus {
		if count[code] == 0 {
			t.Errorf("never saw %s", code)
		}
	}
	if st.Requests != 1000 || st.Throttled != int64(throttled) || st.ServerErrors != int64(server) || st.Served != int64(count["ok"]) {
		t.Errorf("stats %+v disagree with outcomes %v", st, count)
	}
	second, _ := run()
	if !reflect.DeepEqual(first, second) {
		t.Error("same seed and request order produced different faults")
	}

	// Through the SDK: the same codes arrive as *tea.SDKError with the
	// HTTP status, and the SDK does not retry them by default.
	s := newSim(t, func(c *Config) { c.Faults = Faults{ThrottleRate: 0.4, ServerErrorRate: 0.4} })
	c := newClient(t, serve(t, s), defaultCreds)
	sdkSeen := map[string]bool{}
	for range 60 {
		_, err := c.DescribeSendFileResults(&request{RegionId: tea.String("cn-hangzhou"), MaxResults: tea.Int32(1)})
		if err == nil {
			continue
		}
		code, status := sdkError(t, err)
		if wantStatus[code] != status {
			t.Fatalf("SDK saw %d %s", status, code)
		}
		sdkSeen[code] = true
	}
	if len(sdkSeen) != 4 {
		t.Errorf("SDK saw only %v", sdkSeen)
	}
	if st := s.Stats(); st.Requests != 60 {
		t.Errorf("SDK retried: %d requests for 60 calls", st.Requests)
	}
}

func TestTokenAndBodyFaults(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.SendsPerDay = 100 })
	s.Advance(2 * 24 * time.Hour)
	c := newClient(t, serve(t, s), defaultCreds)
	resp, err := c.DescribeSendFileResults(&request{RegionId: tea.String("cn-hangzhou"), MaxResults: tea.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	token := tea.StringValue(resp.Body.NextToken)

	s.SetFaults(Faults{BadTokenRate: 1})
	_, err = c.DescribeSendFileResults(&request{RegionId: tea.String("cn-hangzhou"), NextToken: tea.String(token)})
	if code, _ := sdkError(t, err); code != "InvalidParameter.NextToken" {
		t.Errorf("injected expired token: %s", code)
	}
	if _, err := c.DescribeSendFileResults(&request{RegionId: tea.String("cn-hangzhou"), MaxResults: tea.Int32(5)}); err != nil {
		t.Errorf("first page must not be affected by BadTokenRate: %v", err)
	}

	s.SetFaults(Faults{MalformedRate: 1})
	w := do(s, signedRequest(t, "h:1", map[string]string{"RegionId": "cn-hangzhou"}, defaultCreds, nil))
	if w.Code != 200 || json.Valid(w.Body.Bytes()) {
		t.Errorf("malformed fault: %d, valid JSON %t", w.Code, json.Valid(w.Body.Bytes()))
	}
	if _, err := c.DescribeSendFileResults(&request{RegionId: tea.String("cn-hangzhou")}); err == nil {
		t.Error("the SDK accepted a truncated body")
	}
	s.SetFaults(Faults{Latency: 30 * time.Millisecond, ThrottleRate: -3, ServerErrorRate: 7})
	start := time.Now()
	w = do(s, signedRequest(t, "h:1", map[string]string{"RegionId": "cn-hangzhou"}, defaultCreds, nil))
	if time.Since(start) < 30*time.Millisecond || (w.Code != 500 && w.Code != 503) {
		t.Errorf("latency/clamped faults: %d after %s", w.Code, time.Since(start))
	}
	if st := s.Stats(); st.Malformed != 2 || st.Requests != st.Served+st.Throttled+st.ServerErrors+st.AuthFailures+st.BadRequests+st.Malformed {
		t.Errorf("stats do not add up: %+v", st)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	got, want := s.Config(), DefaultConfig()
	want.AccountID = accountFor(want.Seed) // derived from the seed when not set
	if !reflect.DeepEqual(got, want) || !s.Now().Equal(want.Start) {
		t.Errorf("zero config did not become the defaults: %+v", got)
	}
	cases := []struct {
		field string
		tweak func(*Config)
	}{
		{"Regions[1]", func(c *Config) { c.Regions = []string{"cn-hangzhou", "Hangzhou"} }},
		{"Regions[1]", func(c *Config) { c.Regions = []string{"cn-hangzhou", "cn-hangzhou"} }},
		{"AccessKeyID", func(c *Config) { c.AccessKeyID = "a,b" }},
		{"Retention", func(c *Config) { c.Retention = -time.Hour }},
		{"MaxRecords", func(c *Config) { c.MaxRecords = -1 }},
		{"SendsPerDay", func(c *Config) { c.SendsPerDay = -1 }},
		{"SendsPerDay", func(c *Config) { c.SendsPerDay = 1e6 }},
		{"FleetSize", func(c *Config) { c.FleetSize = -2 }},
		{"MaxInstancesPerSend", func(c *Config) { c.FleetSize = 4; c.MaxInstancesPerSend = 5 }},
		{"Faults.ThrottleRate", func(c *Config) { c.Faults.ThrottleRate = 1.5 }},
		{"Faults.ServerErrorRate", func(c *Config) { c.Faults.ThrottleRate = 0.6; c.Faults.ServerErrorRate = 0.6 }},
		{"Faults.Latency", func(c *Config) { c.Faults.Latency = -time.Second }},
	}
	for _, tc := range cases {
		cfg := DefaultConfig()
		tc.tweak(&cfg)
		_, err := New(cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("want a ConfigError for %s, got %v", tc.field, err)
		}
	}
	// A small fleet gets a fitting default fan-out instead of an error.
	if _, err := New(Config{FleetSize: 3}); err != nil {
		t.Errorf("FleetSize 3 with default MaxInstancesPerSend: %v", err)
	}
}

func TestControlSurface(t *testing.T) {
	t.Parallel()
	s := newSim(t, nil)
	h := s.Handler()
	call := func(method, target string) (int, map[string]any) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
		var body map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body
	}
	start := s.Now()
	if code, body := call("GET", "/_sim/now"); code != 200 || body["now"] != start.Format(time.RFC3339Nano) {
		t.Fatalf("now: %d %v", code, body)
	}
	if code, body := call("POST", "/_sim/advance?by=90m"); code != 200 || body["now"] != start.Add(90*time.Minute).Format(time.RFC3339Nano) {
		t.Fatalf("advance: %d %v", code, body)
	}
	if code, _ := call("POST", "/_sim/advance?by=2d"); code != 200 || !s.Now().Equal(start.Add(90*time.Minute+48*time.Hour)) {
		t.Fatalf("advance by days: %d, now %s", code, s.Now())
	}
	if len(s.Sends()) == 0 {
		t.Fatal("advancing through the control surface created no sends")
	}
	for _, tc := range []struct {
		method, target string
		code           int
	}{
		{"POST", "/_sim/advance?by=-1h", 400},
		{"POST", "/_sim/advance", 400},
		{"GET", "/_sim/advance?by=1h", 405},
		{"POST", "/_sim/now", 405},
		{"GET", "/_sim/nothing", 404},
	} {
		if code, _ := call(tc.method, tc.target); code != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.target, code, tc.code)
		}
	}
	if code, body := call("GET", "/_sim/stats"); code != 200 || body["requests"] != float64(0) {
		t.Errorf("control requests must not count as API requests: %d %v", code, body)
	}
	// The API path never serves control answers, nor other paths the API.
	if code, body := call("POST", "/?by=1h"); code != 400 || body["Code"] != "MissingParameter" {
		t.Errorf("API path: %d %v", code, body)
	}
	if code, body := call("POST", "/_sim"); code != 404 || body["Code"] != "InvalidAction.NotFound" {
		t.Errorf("unknown path: %d %v", code, body)
	}
	if st := s.Stats(); st.Requests != 2 || st.BadRequests != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	t.Parallel()
	s := newSim(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, s) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/_sim/now")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if err := ListenAndServe(context.Background(), "256.0.0.1:bad", s); err == nil {
		t.Fatal("ListenAndServe on a bad address must fail")
	}
}

func BenchmarkListPage(b *testing.B) {
	s := newSim(b, func(c *Config) { c.SendsPerDay = 100 })
	s.Advance(20 * 24 * time.Hour)
	listed := listedTruth(s, "cn-hangzhou")
	mid := listed[len(listed)/2]
	q := &listRequest{region: "cn-hangzhou", tokenMode: true, maxResults: 50,
		rawToken: encodeToken("cn-hangzhou", sortKey{ms: mid.CreationTime.UnixMilli(), id: mid.InvokeID})}
	for b.Loop() {
		s.mu.Lock()
		_, _ = s.list(q, "x")
		s.mu.Unlock()
	}
}

// TestConcurrentUse sends concurrent signed requests over real HTTP while
// the clock advances and faults change, for the race detector's benefit.
// It does not use the SDK client concurrently: tea v1.5.3 itself races on
// its shared per-endpoint http.Client (tea.DoRequest writes Timeout while
// other calls read it), which would fail -race regardless of the simulator.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.SendsPerDay = 100; c.Retention = 2 * 24 * time.Hour })
	s.Advance(3 * 24 * time.Hour)
	ep := serve(t, s)
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for range 15 {
				r := signedRequest(t, ep, map[string]string{"RegionId": "cn-hangzhou", "MaxResults": "20"}, defaultCreds, nil)
				r.RequestURI = "" // a client request, not a server one
				resp, err := http.DefaultClient.Do(r)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("status %d", resp.StatusCode)
					return
				}
			}
			errs <- nil
		}()
	}
	go func() {
		defer close(done)
		for range 50 {
			s.Advance(10 * time.Minute)
			s.SetFaults(Faults{})
			_ = s.Stats()
			_ = s.Sends()
			_, _, _ = s.StatusAt("f-aaaaaaaaaaaaaaaaaaaa", s.Now())
		}
	}()
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	<-done
	if st := s.Stats(); st.Served != 60 {
		t.Errorf("served %d of 60", st.Served)
	}
}
