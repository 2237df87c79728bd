package cloudsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v4/client"
	openapiutil "github.com/alibabacloud-go/openapi-util/service"
	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/tea"
)

func TestTokenWalkIsStableWhileSendsArrive(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.SendsPerDay = 40 })
	s.Advance(15 * 24 * time.Hour)
	c := newClient(t, serve(t, s), defaultCreds)

	want := listedTruth(s, "cn-hangzhou")
	if len(want) < 450 {
		t.Fatalf("setup: only %d listed sends", len(want))
	}
	before := len(s.Sends())
	got, pages := walkTokens(t, c, request{RegionId: tea.String("cn-hangzhou")}, 50, func() {
		s.Advance(3 * time.Hour) // new sends land at the head mid-walk
	})
	if len(s.Sends()) <= before {
		t.Fatal("setup: no sends arrived during the walk")
	}
	if !equalStrings(ids(got), truthIDs(want)) {
		t.Fatalf("walk returned %d records, want the %d listed at its start, in order", len(got), len(want))
	}
	if wantPages := (len(want) + 49) / 50; pages != wantPages {
		t.Errorf("pages = %d, want %d", pages, wantPages)
	}

	// A fresh walk sees the newcomers at the head.
	again, _ := walkTokens(t, c, request{RegionId: tea.String("cn-hangzhou")}, 50, nil)
	if fresh := listedTruth(s, "cn-hangzhou"); !equalStrings(ids(again), truthIDs(fresh)) || len(fresh) <= len(want) {
		t.Fatalf("second walk: %d records, want %d (> %d)", len(again), len(fresh), len(want))
	}
}

func TestPageNumberWalk(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.SendsPerDay = 30 })
	s.Advance(10 * 24 * time.Hour)
	c := newClient(t, serve(t, s), defaultCreds)
	want := listedTruth(s, "cn-hangzhou")

	var got []*invocation
	for page := int64(1); ; page++ {
		resp, err := c.DescribeSendFileResults(&request{
			RegionId: tea.String("cn-hangzhou"), PageNumber: tea.Int64(page), PageSize: tea.Int64(20),
		})
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		b := resp.Body
		if tea.Int64Value(b.TotalCount) != int64(len(want)) || tea.Int64Value(b.PageNumber) != page || tea.Int64Value(b.PageSize) != 20 {
			t.Fatalf("page %d: TotalCount=%d PageNumber=%d PageSize=%d, want %d/%d/20",
				page, tea.Int64Value(b.TotalCount), tea.Int64Value(b.PageNumber), tea.Int64Value(b.PageSize), len(want), page)
		}
		if tok := tea.StringValue(b.NextToken); tok != "" {
			t.Fatalf("page mode returned NextToken %q", tok)
		}
		if len(b.Invocations.Invocation) == 0 {
			break
		}
		got = append(got, b.Invocations.Invocation...)
	}
	if !equalStrings(ids(got), truthIDs(want)) {
		t.Fatalf("page walk returned %d records, want %d in listing order", len(got), len(want))
	}

	// Defaults: page 1 of 10.
	resp, err := c.DescribeSendFileResults(&request{RegionId: tea.String("cn-hangzhou")})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Body.Invocations.Invocation); n != 10 || tea.Int64Value(resp.Body.PageSize) != 10 || tea.Int64Value(resp.Body.PageNumber) != 1 {
		t.Fatalf("defaults: %d records, PageSize %d, PageNumber %d", n, tea.Int64Value(resp.Body.PageSize), tea.Int64Value(resp.Body.PageNumber))
	}
	// MaxResults wins over PageNumber/PageSize, which are then ignored.
	resp, err = c.DescribeSendFileResults(&request{
		RegionId: tea.String("cn-hangzhou"), MaxResults: tea.Int32(7), PageNumber: tea.Int64(0), PageSize: tea.Int64(500),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Body.Invocations.Invocation); n != 7 || ids(resp.Body.Invocations.Invocation)[0] != want[0].InvokeID {
		t.Fatalf("MaxResults with ignored paging: %d records", n)
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.SendsPerDay = 400 })
	s.Advance(2 * 24 * time.Hour)
	// Step to an instant where some sends are still Pending and some
	// Running, so that the status filters have something to find.
	for range 2000 {
		all := s.Sends()
		aggs := map[string]bool{}
		for _, st := range all[max(0, len(all)-30):] {
			agg, _, _ := s.StatusAt(st.InvokeID, s.Now())
			aggs[agg] = true
		}
		if aggs[StatusPending] && aggs[StatusRunning] {
			break
		}
		s.Advance(time.Minute)
	}
	c := newClient(t, serve(t, s), defaultCreds)
	now := s.Now()
	listed := listedTruth(s, "cn-hangzhou")
	status := func(st SendTruth) string {
		agg, _, ok := s.StatusAt(st.InvokeID, now)
		if !ok {
			t.Fatalf("StatusAt(%s) not ok", st.InvokeID)
		}
		return agg
	}
	hasTag := func(st SendTruth, k, v string, anyValue bool) bool {
		for _, tag := range st.Tags {
			if tag.Key == k && (anyValue || tag.Value == v) {
				return true
			}
		}
		return false
	}
	hasInstance := func(st SendTruth, id string) bool {
		for _, it := range st.Instances {
			if it.InstanceID == id {
				return true
			}
		}
		return false
	}
	sample := listed[len(listed)/3]
	var tagged SendTruth
	for _, st := range listed {
		if len(st.Tags) >= 2 {
			tagged = st
			break
		}
	}
	if tagged.InvokeID == "" {
		t.Fatal("setup: no send with two tags")
	}
	instance := sample.Instances[0].InstanceID
	region := tea.String("cn-hangzhou")

	cases := []struct {
		name string
		req  request
		keep func(SendTruth) bool
	}{
		{"InvokeId", request{InvokeId: tea.String(sample.InvokeID)}, func(st SendTruth) bool { return st.InvokeID == sample.InvokeID }},
		{"Name", request{Name: tea.String(sample.Name)}, func(st SendTruth) bool { return st.Name == sample.Name }},
		{"InstanceId", request{InstanceId: tea.String(instance)}, func(st SendTruth) bool { return hasInstance(st, instance) }},
		{"ResourceGroupId", request{ResourceGroupId: tea.String(sample.ResourceGroupID)}, func(st SendTruth) bool { return st.ResourceGroupID == sample.ResourceGroupID }},
		{"Tag key and value", request{Tag: []*ecs.DescribeSendFileResultsRequestTag{{Key: tea.String(tagged.Tags[0].Key), Value: tea.String(tagged.Tags[0].Value)}}},
			func(st SendTruth) bool { return hasTag(st, tagged.Tags[0].Key, tagged.Tags[0].Value, false) }},
		{"Tag key only", request{Tag: []*ecs.DescribeSendFileResultsRequestTag{{Key: tea.String(tagged.Tags[0].Key)}}},
			func(st SendTruth) bool { return hasTag(st, tagged.Tags[0].Key, "", true) }},
		{"two tags", request{Tag: []*ecs.DescribeSendFileResultsRequestTag{
			{Key: tea.String(tagged.Tags[0].Key), Value: tea.String(tagged.Tags[0].Value)},
			{Key: tea.String(tagged.Tags[1].Key), Value: tea.String(tagged.Tags[1].Value)},
		}}, func(st SendTruth) bool {
			return hasTag(st, tagged.Tags[0].Key, tagged.Tags[0].Value, false) && hasTag(st, tagged.Tags[1].Key, tagged.Tags[1].Value, false)
		}},
		{"Name and status", request{Name: tea.String(sample.Name), InvocationStatus: tea.String(StatusSuccess)},
			func(st SendTruth) bool { return st.Name == sample.Name && status(st) == StatusSuccess }},
		{"unknown status", request{InvocationStatus: tea.String("Finished")}, func(SendTruth) bool { return false }},
	}
	for _, agg := range []string{StatusPending, StatusRunning, StatusSuccess, StatusFailed, StatusPartialFailed} {
		cases = append(cases, struct {
			name string
			req  request
			keep func(SendTruth) bool
		}{"InvocationStatus=" + agg, request{InvocationStatus: tea.String(agg)}, func(st SendTruth) bool { return status(st) == agg }})
	}
	seenNonEmpty := map[string]bool{}
	for _, tc := range cases {
		var want []SendTruth
		for _, st := range listed {
			if tc.keep(st) {
				want = append(want, st)
			}
		}
		req := tc.req
		req.RegionId = region
		got, _ := walkTokens(t, c, req, 50, nil)
		if !equalStrings(ids(got), truthIDs(want)) {
			t.Errorf("%s: got %d records %v, want %d", tc.name, len(got), ids(got), len(want))
			continue
		}
		if len(want) > 0 {
			seenNonEmpty[tc.name] = true
		}
		// Page mode applies the same filters and counts them.
		req.PageSize = tea.Int64(50)
		resp, err := c.DescribeSendFileResults(&req)
		if err != nil {
			t.Fatalf("%s page mode: %v", tc.name, err)
		}
		if tea.Int64Value(resp.Body.TotalCount) != int64(len(want)) {
			t.Errorf("%s: TotalCount %d, want %d", tc.name, tea.Int64Value(resp.Body.TotalCount), len(want))
		}
		if tc.name == "InstanceId" {
			for _, inv := range got {
				insts := inv.InvokeInstances.InvokeInstance
				if len(insts) != 1 || tea.StringValue(insts[0].InstanceId) != instance {
					t.Errorf("InstanceId filter: %s renders %d instances", tea.StringValue(inv.InvokeId), len(insts))
				}
				st, _ := s.Send(tea.StringValue(inv.InvokeId))
				if int(tea.Int32Value(inv.VmCount)) != len(st.Instances) || tea.StringValue(inv.InvocationStatus) != status(st) {
					t.Errorf("InstanceId filter must keep the send's VmCount and aggregate")
				}
			}
		}
	}
	for _, name := range []string{"InvokeId", "Name", "InstanceId", "ResourceGroupId", "Tag key and value", "Tag key only", "two tags",
		"InvocationStatus=" + StatusPending, "InvocationStatus=" + StatusRunning, "InvocationStatus=" + StatusSuccess, "InvocationStatus=" + StatusPartialFailed} {
		if !seenNonEmpty[name] {
			t.Errorf("filter case %q matched nothing; the test would not notice a broken filter", name)
		}
	}
}

func TestDocumentedErrors(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.Regions = []string{"cn-hangzhou", "ap-southeast-1"} })
	s.Advance(3 * 24 * time.Hour)
	c := newClient(t, serve(t, s), defaultCreds)
	region := tea.String("cn-hangzhou")
	tags := func(n int) []*ecs.DescribeSendFileResultsRequestTag {
		var out []*ecs.DescribeSendFileResultsRequestTag
		for i := range n {
			out = append(out, &ecs.DescribeSendFileResultsRequestTag{Key: tea.String(fmt.Sprintf("k%d", i)), Value: tea.String("v")})
		}
		return out
	}
	foreignToken := encodeToken("ap-southeast-1", sortKey{ms: s.Now().UnixMilli(), id: "f-aaaaaaaaaaaaaaaaaaaa"})
	cases := []struct {
		name   string
		req    request
		code   string
		status int
	}{
		{"MaxResults 0", request{RegionId: region, MaxResults: tea.Int32(0)}, "InvalidParameter.MaxResults", 400},
		{"MaxResults 51", request{RegionId: region, MaxResults: tea.Int32(51)}, "InvalidParameter.MaxResults", 400},
		{"PageSize 0", request{RegionId: region, PageSize: tea.Int64(0)}, "InvalidParam.PageSize", 400},
		{"PageSize 51", request{RegionId: region, PageSize: tea.Int64(51)}, "InvalidParam.PageSize", 400},
		{"PageNumber 0", request{RegionId: region, PageNumber: tea.Int64(0)}, "InvalidParam.PageNumber", 400},
		{"NextToken garbage", request{RegionId: region, NextToken: tea.String("AAAAAdDWBF2")}, "InvalidParameter.NextToken", 400},
		{"NextToken other region", request{RegionId: region, NextToken: tea.String(foreignToken)}, "InvalidParameter.NextToken", 400},
		{"RegionId missing", request{}, "MissingRegionId", 400},
		{"RegionId not served", request{RegionId: tea.String("cn-beijing")}, "InvalidRegionId.NotFound", 404},
		{"Tag key empty", request{RegionId: region, Tag: []*ecs.DescribeSendFileResultsRequestTag{{Key: tea.String(""), Value: tea.String("v")}}}, "InvalidTagKey.Malformed", 400},
		{"Tag key acs:", request{RegionId: region, Tag: []*ecs.DescribeSendFileResultsRequestTag{{Key: tea.String("acs:owner")}}}, "InvalidTagKey.Malformed", 400},
		{"Tag value URL", request{RegionId: region, Tag: []*ecs.DescribeSendFileResultsRequestTag{{Key: tea.String("k"), Value: tea.String("https://x")}}}, "InvalidTagValue.Malformed", 400},
		{"Tag value without key", request{RegionId: region, Tag: []*ecs.DescribeSendFileResultsRequestTag{{Value: tea.String("v")}}}, "MissingParameter.TagKey", 400},
		{"Tag key duplicate", request{RegionId: region, Tag: []*ecs.DescribeSendFileResultsRequestTag{{Key: tea.String("env")}, {Key: tea.String("env"), Value: tea.String("prod")}}}, "Duplicate.TagKey", 400},
		{"21 tags", request{RegionId: region, Tag: tags(21)}, "NumberExceed.Tags", 400},
	}
	for _, tc := range cases {
		_, err := c.DescribeSendFileResults(&tc.req)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		code, status := sdkError(t, err)
		if code != tc.code || status != tc.status {
			t.Errorf("%s: got %d %s, want %d %s", tc.name, status, code, tc.status, tc.code)
		}
	}
	if st := s.Stats(); st.BadRequests != int64(len(cases)) || st.Served != 0 {
		t.Errorf("stats %+v: want %d bad requests", st, len(cases))
	}
	// 20 tags are fine.
	if _, err := c.DescribeSendFileResults(&request{RegionId: region, Tag: tags(20)}); err != nil {
		t.Errorf("20 tags: %v", err)
	}
	// The served second region answers.
	if _, err := c.DescribeSendFileResults(&request{RegionId: tea.String("ap-southeast-1")}); err != nil {
		t.Errorf("second region: %v", err)
	}
}

func TestErrorBodyShape(t *testing.T) {
	t.Parallel()
	s := newSim(t, nil)
	w := do(s, signedRequest(t, "ecs.example:80", map[string]string{"RegionId": "cn-nowhere"}, defaultCreds, nil))
	if w.Code != http.StatusNotFound || w.Header().Get("Content-Type") != "application/json;charset=utf-8" {
		t.Fatalf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
	}
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body["Code"] != "InvalidRegionId.NotFound" || body["HostId"] != "ecs.aliyuncs.com" || body["RequestId"] == "" ||
		body["Message"] == "" || body["Recommend"] == "" || w.Header().Get("x-acs-request-id") != body["RequestId"] {
		t.Fatalf("error body %v", body)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.Faults.ThrottleRate = 1 }) // auth must win over faults
	ep := serve(t, s)
	req := &request{RegionId: tea.String("cn-hangzhou")}

	_, err := newClient(t, ep, creds{defaultAccessKeyID, "not-the-secret", ""}).DescribeSendFileResults(req)
	if code, status := sdkError(t, err); code != "SignatureDoesNotMatch" || status != 400 {
		t.Errorf("wrong secret: %d %s", status, code)
	}
	_, err = newClient(t, ep, creds{"LTAI-someone-else", defaultAccessKeySecret, ""}).DescribeSendFileResults(req)
	if code, status := sdkError(t, err); code != "InvalidAccessKeyId.NotFound" || status != 404 {
		t.Errorf("unknown key: %d %s", status, code)
	}
	if st := s.Stats(); st.AuthFailures != 2 || st.Throttled != 0 {
		t.Errorf("stats %+v", st)
	}

	// Raw requests for what the SDK never sends.
	host := "ecs.example:80"
	query := map[string]string{"RegionId": "cn-hangzhou"}
	noAuth := signedRequest(t, host, query, defaultCreds, nil)
	noAuth.Header.Del("Authorization")
	badAuth := signedRequest(t, host, query, defaultCreds, nil)
	badAuth.Header.Set("Authorization", "Bearer abc")
	tampered := signedRequest(t, host, query, defaultCreds, nil)
	tampered.URL.RawQuery = "RegionId=cn-shanghai"
	unsigned := signedRequest(t, host, query, defaultCreds, nil)
	unsigned.Header.Set("x-acs-extra", "1")
	payload := signedRequest(t, host, query, defaultCreds, func(h map[string]*string) {
		h["x-acs-content-sha256"] = tea.String("0000000000000000000000000000000000000000000000000000000000000000")
	})
	otherHost := signedRequest(t, host, query, defaultCreds, nil)
	otherHost.Host = "evil.example:80"
	for name, tc := range map[string]struct {
		r    *http.Request
		code string
	}{
		"no Authorization":        {noAuth, "MissingAuthorization"},
		"malformed Authorization": {badAuth, "IncompleteSignature"},
		"tampered query":          {tampered, "SignatureDoesNotMatch"},
		"unsigned x-acs header":   {unsigned, "IncompleteSignature"},
		"payload hash mismatch":   {payload, "SignatureDoesNotMatch"},
		"other host":              {otherHost, "SignatureDoesNotMatch"},
	} {
		w := do(s, tc.r)
		var body map[string]string
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != 400 || body["Code"] != tc.code {
			t.Errorf("%s: %d %s, want 400 %s", name, w.Code, body["Code"], tc.code)
		}
		if strings.Contains(w.Body.String(), defaultAccessKeySecret) {
			t.Errorf("%s: response echoes the secret", name)
		}
	}
	// The same raw request, untampered, passes authentication (and is then
	// throttled, proving faults come after auth).
	w := do(s, signedRequest(t, host, query, defaultCreds, nil))
	if w.Code != 400 || !json.Valid(w.Body.Bytes()) || !strings.Contains(w.Body.String(), "Throttling.") {
		t.Errorf("valid raw request: %d %s", w.Code, w.Body.String())
	}
}

func TestSecurityToken(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.SecurityToken = "sts-token-123" })
	ep := serve(t, s)
	req := &request{RegionId: tea.String("cn-hangzhou")}
	if _, err := newClient(t, ep, creds{defaultAccessKeyID, defaultAccessKeySecret, "sts-token-123"}).DescribeSendFileResults(req); err != nil {
		t.Fatalf("right token: %v", err)
	}
	_, err := newClient(t, ep, defaultCreds).DescribeSendFileResults(req)
	if code, status := sdkError(t, err); code != "MissingSecurityToken" || status != 400 {
		t.Errorf("no token: %d %s", status, code)
	}
	_, err = newClient(t, ep, creds{defaultAccessKeyID, defaultAccessKeySecret, "sts-token-999"}).DescribeSendFileResults(req)
	if code, status := sdkError(t, err); code != "InvalidSecurityToken.Mismatch" || status != 400 {
		t.Errorf("wrong token: %d %s", status, code)
	}
}

func TestActionAndVersion(t *testing.T) {
	t.Parallel()
	s := newSim(t, nil)
	c := newClient(t, serve(t, s), defaultCreds)
	call := func(action, version string) error {
		params := &openapi.Params{
			Action: tea.String(action), Version: tea.String(version), Protocol: tea.String("HTTP"),
			Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"),
			Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
		}
		req := &openapi.OpenApiRequest{Query: openapiutil.Query(map[string]any{"RegionId": "cn-hangzhou"})}
		_, err := c.CallApi(params, req, &util.RuntimeOptions{})
		return err
	}
	if code, status := sdkError(t, call("DescribeInstances", apiVersion)); code != "InvalidAction.NotFound" || status != 404 {
		t.Errorf("other action: %d %s", status, code)
	}
	if code, status := sdkError(t, call(apiAction, "2016-03-14")); code != "InvalidVersion" || status != 400 {
		t.Errorf("other version: %d %s", status, code)
	}
	if err := call(apiAction, apiVersion); err != nil {
		t.Errorf("right action and version: %v", err)
	}
}

// STS GetCallerIdentity names the account whose key signed the request, and
// behind one endpoint each account answers for its own key.
func TestCallerIdentityPerAccount(t *testing.T) {
	t.Parallel()
	a := newSim(t, func(c *Config) { c.AccessKeyID = "key-a" })
	b := newSim(t, func(c *Config) { c.Seed++; c.AccessKeyID = "key-b"; c.SecurityToken = "tok-b" })
	srv := httptest.NewServer(MultiAccount(a, b))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	identity := func(c creds) (map[string]any, error) {
		cfg := &openapi.Config{AccessKeyId: tea.String(c.ak), AccessKeySecret: tea.String(c.secret),
			Endpoint: tea.String(host), Protocol: tea.String("HTTP")}
		if c.token != "" {
			cfg.SecurityToken = tea.String(c.token)
		}
		client, err := openapi.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.CallApi(&openapi.Params{Action: tea.String("GetCallerIdentity"), Version: tea.String("2015-04-01"),
			Protocol: tea.String("HTTP"), Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"),
			Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json")},
			&openapi.OpenApiRequest{Query: openapiutil.Query(map[string]any{})}, &util.RuntimeOptions{})
		if err != nil {
			return nil, err
		}
		return resp["body"].(map[string]any), nil
	}
	gotA, err := identity(creds{"key-a", defaultAccessKeySecret, ""})
	if err != nil || gotA["AccountId"] != a.Config().AccountID || gotA["IdentityType"] != "RAMUser" {
		t.Fatalf("account a: %v %v", gotA, err)
	}
	gotB, err := identity(creds{"key-b", defaultAccessKeySecret, "tok-b"})
	if err != nil || gotB["AccountId"] != b.Config().AccountID || gotB["IdentityType"] != "AssumedRoleUser" {
		t.Fatalf("account b: %v %v", gotB, err)
	}
	if a.Config().AccountID == b.Config().AccountID {
		t.Fatal("two seeds, one account id")
	}
	if _, err := identity(creds{"key-a", "wrong", ""}); err == nil {
		t.Fatal("a wrong secret got an identity")
	} else if code, _ := sdkError(t, err); code != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %s", code)
	}
}
