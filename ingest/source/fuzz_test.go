package source_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
)

// fuzzQuirkySeeds are bodies beyond the documented samples: every scalar
// shape the docs' samples show (and a few they do not), flattened envelopes,
// odd whitespace and escapes, and near-misses of valid JSON.
var fuzzQuirkySeeds = []string{
	`{"RequestId":"r"}`,
	`{"RequestId":"r","NextToken":" tok\n","Invocations":{"Invocation":[]}}`,
	`{"Invocations":[{"InvokeId":"f-flat","InvokeInstances":[{"InstanceId":"i-1","InvocationStatus":"Running"}],"Tags":[{"TagKey":"k","TagValue":"v"}]}]}`,
	`{"TotalCount":"2","Invocations":{"Invocation":[{"InvokeId":" f-1 ","FileMode":777,"Overwrite":"true","VmCount":"2",` +
		`"InvocationStatus":" Running ","Content":12.5,"TargetDir":"\t/home/user","CreationTime":"2023-04-10T10:53:46.156+08:00\n",` +
		`"Tags":{"Tag":[{"TagKey":" team","TagValue":"ops "},{"TagKey":"env","TagValue":"prod"},{"TagKey":"env","TagValue":"dev"},{"TagKey":null}]},` +
		`"InvokeInstances":{"InvokeInstance":[{"InstanceId":"i-2","InvocationStatus":"Stopping","CreationTime":"2019-12-20T06:15:54Z"},` +
		`{"InstanceId":" i-1\t","InvocationStatus":" Failed\n","ErrorCode":" NodeNotExists","FinishTime":"2019-12-20T06:15:55Z\t\n",` +
		`"StartTime":"","UpdateTime":null,"ErrorInfo":{"nested":[1,true,null]}}]}}]}}`,
	`{"Invocations":{"Invocation":[{"InvokeId":"f-2","Overwrite":false,"VmCount":1.5,"FileMode":"0644","Tags":{},"InvokeInstances":{}}]}}`,
	`{"Invocations":{"Invocation":[{"InvokeId":"f-3","Overwrite":"maybe","VmCount":"x","CreationTime":"yesterday","Content":null}]}}`,
	`{"Invocations":{"Invocation":[{"InvokeId":"f-4","CreationTime":"2020-01-19T09:15Z","InvokeInstances":{"InvokeInstance":[` +
		`{"InstanceId":"i-1","CreationTime":"2020-01-19 09:15:00+08:00","StartTime":"2020-01-19T09:15:01.5",` +
		`"FinishTime":"2020-01-19 09:15:02","UpdateTime":"2020-01-19T09:15:02.999999999-11:30"}]}}]}}`,
	`{"Invocations":{"Invocation":[{"InvokeId":"f-5","Content":"\u0000\ud800 \u00a0","Name":"\u00a0name\u3000","Description":"\u0085"}]}}`,
	`{"Invocations":{"Invocation":[{"InvokeId":"f-6","InvokeId":"f-6b","Content":"a","Content":"b"}]}}`,
	`{"Invocations":{"Invocation":[{"InvokeId":7,"InvocationStatus":true,"Name":["x"],"FileOwner":{"a":1}}]}}`,
	`{"Invocations":{"Invocation":[{"InvokeId":"f-7","InvokeInstances":{"InvokeInstance":[{"InstanceId":1e3},{"InstanceId":"i-1"},{"InstanceId":"i-1"}]}}]}}`,
	"\xef\xbb\xbf{}",
	" \n{\"RequestId\":\"r\"}\n\t ",
	`{"Invocations":{"Invocation":[{"InvokeId":"f-8"}]}}}`,
	`{"Invocations":{"Invocation":[{"InvokeId":"f-9","InvokeInstances":{"InvokeInstance":[{"InstanceId":""}]}}]}}`,
	`null`,
	`[]`,
	`{"Invocations":"none"}`,
	"{\"Invocations\":{\"Invocation\":[{\"InvokeId\":\"f-\xff\xfe\"}]}}",
	// Times at the edges of the four-digit years the layouts accept.
	`{"Invocations":[{"InvokeId":"f","CreationTime":"0000-01-01T00:00:00+00:00"}]}`,
	`{"Invocations":[{"InvokeId":"f","InvokeInstances":[{"InstanceId":"i","FinishTime":"9999-12-31T23:59:59-00:00"}]}]}`,
}

func FuzzParsePage(f *testing.F) {
	samples, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	if len(samples) == 0 {
		f.Fatal("no sample bodies in testdata")
	}
	for _, name := range samples {
		body, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	for _, s := range fuzzQuirkySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in := slices.Clone(body)
		p, err := source.ParsePage(body)
		if !slices.Equal(in, body) {
			t.Fatalf("ParsePage modified its input")
		}
		if err != nil {
			if !errors.Is(err, source.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if !reflect.DeepEqual(p, source.Page{}) {
				t.Fatalf("a malformed page still returned data: %+v", p)
			}
			return
		}
		fuzzCheckPage(t, p)
		again, err := source.ParsePage(body)
		if err != nil {
			t.Fatalf("second parse failed: %v", err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("parse is not deterministic:\n%+v\n%+v", p, again)
		}
	})
}

// fuzzCheckPage checks the invariants every successfully parsed page keeps.
func fuzzCheckPage(t *testing.T, p source.Page) {
	t.Helper()
	trimmed := func(what, s string) {
		t.Helper()
		if strings.TrimSpace(s) != s {
			t.Errorf("%s %q is not trimmed", what, s)
		}
	}
	utc := func(what string, v *time.Time) {
		t.Helper()
		if v != nil && v.Location() != time.UTC {
			t.Errorf("%s %v is not in UTC", what, v)
		}
	}
	trimmed("NextToken", p.NextToken)
	if !p.ServedAt.IsZero() {
		t.Errorf("ServedAt %v set from a body", p.ServedAt)
	}
	for _, inv := range p.Invocations {
		a := inv.Attributes
		if inv.InvokeID == "" {
			t.Errorf("empty InvokeID")
		}
		for what, s := range map[string]string{
			"InvokeID": inv.InvokeID, "Name": a.Name, "Description": a.Description, "ContentType": a.ContentType,
			"TargetDir": a.TargetDir, "FileOwner": a.FileOwner, "FileGroup": a.FileGroup, "FileMode": a.FileMode,
			"ReportedStatus": string(inv.ReportedStatus),
		} {
			trimmed(what, s)
		}
		sum := sha256.Sum256([]byte(inv.Content))
		if a.ContentSHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: ContentSHA256 %q is not the lower-case hex SHA-256 of Content %q", inv.InvokeID, a.ContentSHA256, inv.Content)
		}
		utc("CreationTime", a.CreationTime)
		// The diff stores the normalised values as JSON detail and the
		// verbatim ones as JSON payload: an accepted page must encode.
		if _, err := json.Marshal(model.InvocationDetail{Attributes: &a, Tags: inv.Tags}); err != nil {
			t.Errorf("%s: attributes do not encode: %v", inv.InvokeID, err)
		}
		if _, err := json.Marshal(inv.Raw); err != nil {
			t.Errorf("%s: Raw does not encode: %v", inv.InvokeID, err)
		}
		for _, key := range []string{"InvokeInstances", "Content"} {
			if _, has := inv.Raw[key]; has {
				t.Errorf("%s: Raw keeps %s", inv.InvokeID, key)
			}
		}
		if !slices.IsSortedFunc(inv.Tags, fuzzCompareTags) {
			t.Errorf("%s: tags not sorted: %v", inv.InvokeID, inv.Tags)
		}
		for _, tag := range inv.Tags {
			trimmed("TagKey", tag.Key)
			trimmed("TagValue", tag.Value)
		}
		for _, in := range inv.Instances {
			if in.InstanceID == "" {
				t.Errorf("%s: instance without InstanceID", inv.InvokeID)
			}
			for what, s := range map[string]string{
				"InstanceID": in.InstanceID, "Status": string(in.Status), "ErrorCode": in.ErrorCode, "ErrorInfo": in.ErrorInfo,
			} {
				trimmed(what, s)
			}
			utc("instance CreationTime", in.CreationTime)
			utc("StartTime", in.StartTime)
			utc("FinishTime", in.FinishTime)
			utc("UpdateTime", in.UpdateTime)
			if in.Raw == nil {
				t.Errorf("%s/%s: no verbatim Raw", inv.InvokeID, in.InstanceID)
			}
			if _, err := json.Marshal(model.DetailsOf(in)); err != nil {
				t.Errorf("%s/%s: details do not encode: %v", inv.InvokeID, in.InstanceID, err)
			}
			if _, err := json.Marshal(in.Raw); err != nil {
				t.Errorf("%s/%s: Raw does not encode: %v", inv.InvokeID, in.InstanceID, err)
			}
		}
	}
}

func fuzzCompareTags(a, b model.Tag) int {
	if c := strings.Compare(a.Key, b.Key); c != 0 {
		return c
	}
	return strings.Compare(a.Value, b.Value)
}
