package source_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
)

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseOne(t *testing.T, body []byte) (source.Page, model.Invocation) {
	t.Helper()
	p, err := source.ParsePage(body)
	if err != nil {
		t.Fatalf("ParsePage: %v", err)
	}
	if len(p.Invocations) != 1 {
		t.Fatalf("%d invocations, want 1", len(p.Invocations))
	}
	return p, p.Invocations[0]
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// eqTime reports whether got is set, in UTC, and the instant want.
func eqTime(got *time.Time, want time.Time) bool {
	return got != nil && got.Equal(want) && got.Location() == time.UTC
}

func TestParsePageEnglishSample(t *testing.T) {
	t.Parallel()
	p, inv := parseOne(t, readSample(t, "ecs-en.json"))
	if p.RequestID != "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E" || p.NextToken != "AAAAAdDWBF2" {
		t.Errorf("page = RequestID %q NextToken %q", p.RequestID, p.NextToken)
	}
	if !p.ServedAt.IsZero() {
		t.Errorf("ServedAt = %v; a body carries no Date header", p.ServedAt)
	}
	content := "#!/bin/bash  echo \"Current User is :\"  echo $(ps | grep \"$$\" | awk '{print $2}')"
	at := mustTime(t, "2019-12-20T06:15:54Z")
	a := inv.Attributes
	if inv.InvokeID != "f-hz0jdfwd9f****" || a.Name != "test.txt" || a.Description != "This is a test file." ||
		a.ContentType != "PlainText" || a.TargetDir != "/home/user" || a.FileOwner != "test" || a.FileGroup != "test" ||
		a.FileMode != "777" {
		t.Errorf("invocation = %q %+v", inv.InvokeID, a)
	}
	if a.Overwrite == nil || *a.Overwrite {
		t.Errorf("Overwrite %v, want false (from the string \"false\")", a.Overwrite)
	}
	if a.VMCount == nil || *a.VMCount != 1 {
		t.Errorf("VMCount %v, want 1", a.VMCount)
	}
	if !eqTime(a.CreationTime, at) {
		t.Errorf("CreationTime %v, want %v", a.CreationTime, at)
	}
	if inv.Content != content || a.ContentSHA256 != sha(content) {
		t.Errorf("Content %q sha %s", inv.Content, a.ContentSHA256)
	}
	if inv.ReportedStatus != "Success" || inv.RawStatus != "Success" {
		t.Errorf("ReportedStatus %q RawStatus %v", inv.ReportedStatus, inv.RawStatus)
	}
	if !reflect.DeepEqual(inv.Tags, []model.Tag{{Key: "owner", Value: "zhangsan"}}) {
		t.Errorf("Tags %v", inv.Tags)
	}
	wantRawTags := map[string]any{"Tag": []any{map[string]any{"TagKey": "owner", "TagValue": "zhangsan"}}}
	if !reflect.DeepEqual(inv.RawTags, wantRawTags) {
		t.Errorf("RawTags %#v", inv.RawTags)
	}
	// Raw is the verbatim object minus InvokeInstances and Content.
	if _, ok := inv.Raw["InvokeInstances"]; ok {
		t.Error("Raw keeps InvokeInstances")
	}
	if _, ok := inv.Raw["Content"]; ok {
		t.Error("Raw keeps Content (stored once per SHA-256 instead)")
	}
	if len(inv.Raw) != 13 {
		t.Errorf("Raw has %d fields, want the sample's 15 minus 2: %v", len(inv.Raw), inv.Raw)
	}
	if inv.Raw["Overwrite"] != "false" || inv.Raw["VmCount"] != json.Number("1") || inv.Raw["FileMode"] != "777" ||
		inv.Raw["CreationTime"] != "2019-12-20T06:15:54Z" {
		t.Errorf("Raw not verbatim: %#v", inv.Raw)
	}
	if len(inv.Instances) != 1 {
		t.Fatalf("%d instances", len(inv.Instances))
	}
	in := inv.Instances[0]
	if in.InstanceID != "i-uf614fhehhz****" || in.Status != "Success" || in.ErrorCode != "InstanceNotExists" ||
		in.ErrorInfo != "the instance is not running when create task" {
		t.Errorf("instance %+v", in)
	}
	for name, v := range map[string]*time.Time{"CreationTime": in.CreationTime, "StartTime": in.StartTime,
		"FinishTime": in.FinishTime, "UpdateTime": in.UpdateTime} {
		if !eqTime(v, at) {
			t.Errorf("instance %s = %v, want %v", name, v, at)
		}
	}
	if in.Raw["InstanceId"] != "i-uf614fhehhz****" || len(in.Raw) != 8 {
		t.Errorf("instance Raw %#v", in.Raw)
	}
	// Details carried into events survive a JSON round trip unchanged.
	var back model.Details
	b, _ := json.Marshal(model.DetailsOf(in))
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(model.DetailsOf(in)) {
		t.Errorf("details round trip: %v %+v", err, back)
	}
}

func TestParsePageLegacyChineseSample(t *testing.T) {
	t.Parallel()
	p, inv := parseOne(t, readSample(t, "ecs-zh-legacy.json"))
	if p.RequestID != "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E" || p.NextToken != "" {
		t.Errorf("page = RequestID %q NextToken %q", p.RequestID, p.NextToken)
	}
	a := inv.Attributes
	if inv.InvokeID != "f-hz0vk9****" || a.FileMode != "0644" || a.TargetDir != "/root" || a.FileOwner != "root" ||
		a.FileGroup != "root" || a.Name != "test.txt" {
		t.Errorf("invocation %q %+v", inv.InvokeID, a)
	}
	if a.Overwrite == nil || *a.Overwrite {
		t.Errorf("Overwrite %v, want false (JSON boolean)", a.Overwrite)
	}
	if inv.Raw["Overwrite"] != false {
		t.Errorf("Raw Overwrite %#v, want the JSON boolean false", inv.Raw["Overwrite"])
	}
	if inv.Raw["FileMode"] != "0644" {
		t.Errorf("Raw FileMode %#v, want \"0644\" (leading zero kept)", inv.Raw["FileMode"])
	}
	if inv.Content != "ZWNobyBoZWxsbw==" || a.ContentSHA256 != sha("ZWNobyBoZWxsbw==") {
		t.Errorf("content %q %s", inv.Content, a.ContentSHA256)
	}
	if inv.Tags != nil || inv.RawTags != nil {
		t.Errorf("no Tags in the sample, got %v / %v", inv.Tags, inv.RawTags)
	}
	at := mustTime(t, "2020-09-11T08:30:55Z")
	if !eqTime(a.CreationTime, at) {
		t.Errorf("CreationTime %v", a.CreationTime)
	}
	if len(inv.Instances) != 1 {
		t.Fatalf("%d instances", len(inv.Instances))
	}
	in := inv.Instances[0]
	if in.InstanceID != "i-bp1hsglsw****" || in.Status != "Success" || in.ErrorCode != "" || in.ErrorInfo != "" ||
		!eqTime(in.CreationTime, at) || !eqTime(in.StartTime, at) || !eqTime(in.FinishTime, at) ||
		!eqTime(in.UpdateTime, at) {
		t.Errorf("instance %+v", in)
	}
}

// The EFLO sample verbatim has no InvokeId (EFLO is polled per task id): the
// ECS parser must refuse it rather than invent an identity.
func TestParsePageRefusesEFLOSampleWithoutInvokeId(t *testing.T) {
	t.Parallel()
	p, err := source.ParsePage(readSample(t, "eflo-zh-tw.json"))
	if !errors.Is(err, source.ErrMalformed) || !strings.Contains(err.Error(), "InvokeId") {
		t.Fatalf("ParsePage(EFLO sample) = %v, want ErrMalformed naming InvokeId", err)
	}
	if len(p.Invocations) != 0 {
		t.Errorf("a refused page still returned %d invocations", len(p.Invocations))
	}
}

func TestParsePageEFLOQuirks(t *testing.T) {
	t.Parallel()
	_, inv := parseOne(t, readSample(t, "eflo-zh-tw-as-ecs.json"))
	a := inv.Attributes
	if a.TargetDir != "/home/user" || inv.Raw["TargetDir"] != "\t/home/user" {
		t.Errorf("TargetDir %q, Raw %q", a.TargetDir, inv.Raw["TargetDir"])
	}
	if want := mustTime(t, "2023-04-10T02:53:46.156Z"); !eqTime(a.CreationTime, want) {
		t.Errorf("CreationTime %v, want %v", a.CreationTime, want)
	}
	if inv.Raw["CreationTime"] != "2023-04-10T10:53:46.156+08:00\n" {
		t.Errorf("Raw CreationTime %q, want the verbatim value with its newline", inv.Raw["CreationTime"])
	}
	if a.Overwrite == nil || !*a.Overwrite || inv.Raw["Overwrite"] != true {
		t.Errorf("Overwrite %v, Raw %#v", a.Overwrite, inv.Raw["Overwrite"])
	}
	if a.FileMode != "0644" || a.Description != "描述資訊。" || a.VMCount == nil || *a.VMCount != 3 {
		t.Errorf("attributes %+v", a)
	}
	if inv.ReportedStatus != "Pending" {
		t.Errorf("ReportedStatus %q", inv.ReportedStatus)
	}
	in := inv.Instances[0]
	if in.ErrorCode != "NodeNotExists" || in.Raw["ErrorCode"] != " NodeNotExists" {
		t.Errorf("ErrorCode %q, Raw %q", in.ErrorCode, in.Raw["ErrorCode"])
	}
	if want := mustTime(t, "2023-04-10T02:53:46.156Z"); !eqTime(in.FinishTime, want) {
		t.Errorf("FinishTime %v, want %v", in.FinishTime, want)
	}
	if want := mustTime(t, "2019-12-20T06:15:55Z"); !eqTime(in.UpdateTime, want) || in.Raw["UpdateTime"] != "2019-12-20T06:15:55Z\t\n" {
		t.Errorf("UpdateTime %v, Raw %q", in.UpdateTime, in.Raw["UpdateTime"])
	}
	if !eqTime(in.CreationTime, mustTime(t, "2023-02-06T07:12:50Z")) || !eqTime(in.StartTime, mustTime(t, "2023-03-30T16:00:00Z")) {
		t.Errorf("instance times %v %v", in.CreationTime, in.StartTime)
	}
}

func TestParsePageScalarShapes(t *testing.T) {
	t.Parallel()
	body := `{"RequestId":"r","TotalCount":"2","NextToken":" tok\n","Invocations":{"Invocation":[
	 {"InvokeId":" f-1 ","FileMode":777,"Overwrite":"true","VmCount":"2","InvocationStatus":" Running ",
	  "Name":" n ","TargetDir":"/tmp\n","FileOwner":" root","FileGroup":"root ",
	  "Tags":{"Tag":[{"TagKey":" team","TagValue":"ops "},{"TagKey":"env","TagValue":"prod"},{"TagKey":"env","TagValue":"dev"}]},
	  "InvokeInstances":{"InvokeInstance":[
	   {"InstanceId":"i-2","InvocationStatus":"Stopping","CreationTime":"2019-12-20T06:15:54Z"},
	   {"InstanceId":" i-1\t","InvocationStatus":" Failed\n","ErrorCode":" NodeNotExists","ErrorInfo":"gone \n",
	    "FinishTime":"2019-12-20T06:15:55Z\t\n","StartTime":"","UpdateTime":null}
	  ]}},
	 {"InvokeId":"f-2","FileMode":"0755","Overwrite":false,"VmCount":1.5,"Tags":{"Tag":[]},"InvokeInstances":{}}
	]}}`
	p, err := source.ParsePage([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if p.NextToken != "tok" || len(p.Invocations) != 2 {
		t.Fatalf("NextToken %q, %d invocations", p.NextToken, len(p.Invocations))
	}
	inv := p.Invocations[0]
	a := inv.Attributes
	if inv.InvokeID != "f-1" || a.FileMode != "777" || inv.Raw["FileMode"] != json.Number("777") {
		t.Errorf("InvokeID %q FileMode %q Raw %#v", inv.InvokeID, a.FileMode, inv.Raw["FileMode"])
	}
	if a.Overwrite == nil || !*a.Overwrite || a.VMCount == nil || *a.VMCount != 2 {
		t.Errorf("Overwrite %v VMCount %v", a.Overwrite, a.VMCount)
	}
	if a.Name != "n" || a.TargetDir != "/tmp" || a.FileOwner != "root" || a.FileGroup != "root" ||
		inv.ReportedStatus != "Running" || inv.RawStatus != " Running " {
		t.Errorf("not trimmed: %+v status %q raw %q", a, inv.ReportedStatus, inv.RawStatus)
	}
	wantTags := []model.Tag{{Key: "env", Value: "dev"}, {Key: "env", Value: "prod"}, {Key: "team", Value: "ops"}}
	if !reflect.DeepEqual(inv.Tags, wantTags) {
		t.Errorf("Tags %v, want trimmed and sorted %v", inv.Tags, wantTags)
	}
	if len(inv.Instances) != 2 {
		t.Fatalf("%d instances", len(inv.Instances))
	}
	i2, i1 := inv.Instances[0], inv.Instances[1]
	if i2.InstanceID != "i-2" || i2.Status != "Stopping" {
		t.Errorf("undocumented status not kept verbatim: %+v", i2)
	}
	if i1.InstanceID != "i-1" || i1.Status != "Failed" || i1.ErrorCode != "NodeNotExists" || i1.ErrorInfo != "gone" {
		t.Errorf("instance %+v", i1)
	}
	if i1.Raw["ErrorCode"] != " NodeNotExists" || i1.Raw["InvocationStatus"] != " Failed\n" {
		t.Errorf("instance Raw not verbatim: %#v", i1.Raw)
	}
	if !eqTime(i1.FinishTime, mustTime(t, "2019-12-20T06:15:55Z")) || i1.StartTime != nil || i1.UpdateTime != nil ||
		i1.CreationTime != nil {
		t.Errorf("instance times: %v %v %v %v", i1.CreationTime, i1.StartTime, i1.FinishTime, i1.UpdateTime)
	}

	inv2 := p.Invocations[1]
	if inv2.Attributes.FileMode != "0755" || inv2.Attributes.Overwrite == nil || *inv2.Attributes.Overwrite {
		t.Errorf("f-2 %+v", inv2.Attributes)
	}
	if inv2.Attributes.VMCount != nil {
		t.Errorf("VmCount 1.5 gave %d, want nil (not an integer)", *inv2.Attributes.VMCount)
	}
	if len(inv2.Tags) != 0 || len(inv2.Instances) != 0 {
		t.Errorf("f-2 tags %v instances %v", inv2.Tags, inv2.Instances)
	}
	// An unparseable or absent scalar is nil, not a made-up value.
	_, inv3 := parseOne(t, []byte(`{"Invocations":{"Invocation":[{"InvokeId":"f-3","Overwrite":"maybe","VmCount":"x","CreationTime":"yesterday"}]}}`))
	if inv3.Attributes.Overwrite != nil || inv3.Attributes.VMCount != nil || inv3.Attributes.CreationTime != nil {
		t.Errorf("f-3 %+v", inv3.Attributes)
	}
	if inv3.Raw["CreationTime"] != "yesterday" {
		t.Errorf("unparseable time not kept verbatim: %#v", inv3.Raw["CreationTime"])
	}
}

func TestParsePageEmptyPages(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"RequestId":"r"}`,
		`{"RequestId":"r","Invocations":null}`,
		`{"RequestId":"r","Invocations":{}}`,
		`{"RequestId":"r","Invocations":{"Invocation":[]}}`,
		`{"RequestId":"r","Invocations":{"Invocation":null}}`,
		" \n{\"RequestId\":\"r\",\"NextToken\":\"\"}\n\t ",
	} {
		p, err := source.ParsePage([]byte(body))
		if err != nil || len(p.Invocations) != 0 || p.RequestID != "r" || p.NextToken != "" {
			t.Errorf("ParsePage(%q) = %+v, %v; want an empty last page", body, p, err)
		}
	}
}

func TestParsePageMalformed(t *testing.T) {
	t.Parallel()
	en := readSample(t, "ecs-en.json")
	valid := `{"RequestId":"r","Invocations":{"Invocation":[{"InvokeId":"f-1","InvokeInstances":{"InvokeInstance":[{"InstanceId":"i-1"}]}}]}}`
	for name, body := range map[string]string{
		"empty":                         "",
		"whitespace":                    " \n ",
		"not JSON":                      "<html>502 Bad Gateway</html>",
		"garbled translation":           string(readSample(t, "ecs-ja-garbled.json")),
		"truncated sample":              string(en[:len(en)/2]),
		"truncated by one byte":         strings.TrimSpace(string(en))[:len(strings.TrimSpace(string(en)))-1],
		"top-level array":               `[{"InvokeId":"f-1"}]`,
		"top-level string":              `"ok"`,
		"top-level number":              `42`,
		"top-level null":                `null`,
		"Invocations a string":          `{"Invocations":"none"}`,
		"Invocations an array of junk":  `{"Invocations":[1]}`,
		"Invocation an object":          `{"Invocations":{"Invocation":{"InvokeId":"f-1"}}}`,
		"Invocation a string":           `{"Invocations":{"Invocation":"f-1"}}`,
		"Invocation element not object": `{"Invocations":{"Invocation":["f-1"]}}`,
		"no InvokeId":                   `{"Invocations":{"Invocation":[{"Name":"x"}]}}`,
		"blank InvokeId":                `{"Invocations":{"Invocation":[{"InvokeId":" \t"}]}}`,
		"null InvokeId":                 `{"Invocations":{"Invocation":[{"InvokeId":null}]}}`,
		"no InstanceId":                 `{"Invocations":{"Invocation":[{"InvokeId":"f-1","InvokeInstances":{"InvokeInstance":[{"InvocationStatus":"Success"}]}}]}}`,
		"blank InstanceId":              `{"Invocations":{"Invocation":[{"InvokeId":"f-1","InvokeInstances":{"InvokeInstance":[{"InstanceId":""}]}}]}}`,
		"InvokeInstance not array":      `{"Invocations":{"Invocation":[{"InvokeId":"f-1","InvokeInstances":{"InvokeInstance":{"InstanceId":"i-1"}}}]}}`,
		"InvokeInstance element":        `{"Invocations":{"Invocation":[{"InvokeId":"f-1","InvokeInstances":{"InvokeInstance":[7]}}]}}`,
		"Tags.Tag not array":            `{"Invocations":{"Invocation":[{"InvokeId":"f-1","Tags":{"Tag":"owner"}}]}}`,
		"Tags.Tag element":              `{"Invocations":{"Invocation":[{"InvokeId":"f-1","Tags":{"Tag":["owner"]}}]}}`,
		"bad second invocation":         `{"Invocations":{"Invocation":[{"InvokeId":"f-1"},{"Name":"no id"}]}}`,
		"trailing garbage":              valid + "garbage",
		"trailing second object":        valid + `{"RequestId":"r2"}`,
		"trailing brace":                valid + "}",
		"trailing bracket":              valid + "]",
		"trailing comma":                valid + ",",
		"sample with trailing garbage":  string(en) + "\n<!-- served by cache -->",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := source.ParsePage([]byte(body))
			if !errors.Is(err, source.ErrMalformed) {
				t.Fatalf("ParsePage(%.80q) error = %v, want one wrapping ErrMalformed", body, err)
			}
			if len(p.Invocations) != 0 || p.RequestID != "" {
				t.Errorf("a malformed page still returned data: %+v", p)
			}
		})
	}
	// The control: the valid body used above parses.
	if _, err := source.ParsePage([]byte(valid)); err != nil {
		t.Fatalf("control body: %v", err)
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   any
		want string // RFC 3339 instant; "" for nil
	}{
		// Shapes in the docs' samples.
		{"2019-12-20T06:15:54Z", "2019-12-20T06:15:54Z"},
		{"2023-04-10T10:53:46.156+08:00", "2023-04-10T02:53:46.156Z"},
		{"2023-04-10T10:53:46.156+08:00\n", "2023-04-10T02:53:46.156Z"},
		{"2019-12-20T06:15:55Z\t\n", "2019-12-20T06:15:55Z"},
		{"\t 2020-09-11T08:30:55Z", "2020-09-11T08:30:55Z"},
		{"2020-01-19T09:15:46Z", "2020-01-19T09:15:46Z"},
		// Other shapes the parser accepts.
		{"2020-01-19T09:15Z", "2020-01-19T09:15:00Z"},
		{"2020-01-19T09:15+08:00", "2020-01-19T01:15:00Z"},
		{"2020-09-11 08:30:55Z", "2020-09-11T08:30:55Z"},
		{"2020-09-11 08:30:55+08:00", "2020-09-11T00:30:55Z"},
		{"2020-09-11T08:30:55", "2020-09-11T08:30:55Z"},
		{"2020-09-11T08:30:55.5", "2020-09-11T08:30:55.5Z"},
		{"2020-09-11 08:30:55", "2020-09-11T08:30:55Z"},
		{"2023-04-10T10:53:46.123456789-05:30", "2023-04-10T16:23:46.123456789Z"},
		// Nothing usable.
		{nil, ""},
		{"", ""},
		{" \n\t", ""},
		{"yesterday", ""},
		{"2019-12-20", ""},
		{"2019-13-20T06:15:54Z", ""},
		{json.Number("1576822554"), ""},
		{true, ""},
	} {
		got := source.ParseTime(tc.in)
		if tc.want == "" {
			if got != nil {
				t.Errorf("ParseTime(%#v) = %v, want nil", tc.in, got)
			}
			continue
		}
		want, err := time.Parse(time.RFC3339Nano, tc.want)
		if err != nil {
			t.Fatal(err)
		}
		if !eqTime(got, want) {
			t.Errorf("ParseTime(%#v) = %v, want %v in UTC", tc.in, got, want)
		}
	}
}

// Parsing is deterministic and independent of map iteration: the same body
// gives deeply equal pages.
func TestParsePageDeterministic(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"ecs-en.json", "ecs-zh-legacy.json", "eflo-zh-tw-as-ecs.json"} {
		body := readSample(t, name)
		a, err := source.ParsePage(body)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			b, err := source.ParsePage(body)
			if err != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: parses differ (%v)", name, err)
			}
		}
	}
}
