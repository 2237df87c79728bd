package cloudsim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v4/client"
	openapiutil "github.com/alibabacloud-go/openapi-util/service"
	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/tea"
)

// rawPage calls DescribeSendFileResults through the SDK's generic CallApi,
// which hands back the JSON body as a map, so value shapes (string, number,
// boolean, whitespace) survive for inspection.
func rawPage(t *testing.T, c *ecs.Client, query map[string]any) map[string]any {
	t.Helper()
	params := &openapi.Params{
		Action: tea.String(apiAction), Version: tea.String(apiVersion), Protocol: tea.String("HTTP"),
		Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"),
		Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}
	res, err := c.CallApi(params, &openapi.OpenApiRequest{Query: openapiutil.Query(query)}, &util.RuntimeOptions{})
	if err != nil {
		t.Fatalf("CallApi: %v", err)
	}
	body, ok := res["body"].(map[string]any)
	if !ok {
		t.Fatalf("body is %T", res["body"])
	}
	return body
}

func list(v any, outer, inner string) []any {
	m, _ := v.(map[string]any)
	o, _ := m[outer].(map[string]any)
	l, _ := o[inner].([]any)
	return l
}

// numberText returns the text of a JSON number however the decoder kept it.
func numberText(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return n.String(), true
	case float64:
		return fmt.Sprint(n), true
	}
	return "", false
}

func TestQuirksRenderEveryShapeAndKeepTheTruth(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.Quirks = true; c.SendsPerDay = 250 })
	s.Advance(30 * time.Hour)
	c := newClient(t, serve(t, s), defaultCreds)
	now := s.Now()
	listed := listedTruth(s, "cn-hangzhou")
	if len(listed) < 250 {
		t.Fatalf("setup: %d listed", len(listed))
	}

	seen := map[string]int{}
	shapes := []struct {
		name string
		re   *regexp.Regexp
	}{
		{"time Z", regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)},
		{"time .mmmZ", regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)},
		{"time .mmm+08:00", regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$`)},
	}
	checkTime := func(field, v string, want time.Time) {
		t.Helper()
		if strings.HasSuffix(v, "\n") {
			seen["time trailing newline"]++
		}
		trimmed := strings.TrimSuffix(v, "\n")
		matched := false
		for _, sh := range shapes {
			if sh.re.MatchString(trimmed) {
				seen[sh.name]++
				matched = true
			}
		}
		if !matched {
			t.Fatalf("%s %q has no documented shape", field, v)
		}
		if got := mustParseTime(t, field, v); !got.Equal(want) {
			t.Fatalf("%s %q parses to %s, truth %s", field, v, got, want)
		}
		if want.Nanosecond() != 0 {
			seen["millisecond truth"]++
		}
	}

	var walked []string
	token := ""
	for page := 0; ; page++ {
		q := map[string]any{"RegionId": "cn-hangzhou", "MaxResults": 50}
		if token != "" {
			q["NextToken"] = token
		}
		body := rawPage(t, c, q)
		switch tc := body["TotalCount"].(type) {
		case string:
			seen["TotalCount string"]++
			if tc != fmt.Sprint(len(listed)) {
				t.Fatalf("TotalCount %q, want %d", tc, len(listed))
			}
		default:
			n, ok := numberText(tc)
			if !ok || n != fmt.Sprint(len(listed)) {
				t.Fatalf("TotalCount %v (%T)", tc, tc)
			}
			seen["TotalCount number"]++
		}
		for _, raw := range list(body, "Invocations", "Invocation") {
			inv := raw.(map[string]any)
			id := inv["InvokeId"].(string)
			walked = append(walked, id)
			st, ok := s.Send(id)
			if !ok {
				t.Fatalf("%s unknown to the truth", id)
			}
			checkTime("CreationTime", inv["CreationTime"].(string), st.CreationTime)

			dir := inv["TargetDir"].(string)
			if strings.HasPrefix(dir, "\t") {
				seen["TargetDir tab"]++
			}
			if strings.TrimSpace(dir) != st.TargetDir {
				t.Fatalf("TargetDir %q, truth %q", dir, st.TargetDir)
			}

			switch fm := inv["FileMode"].(type) {
			case string:
				seen["FileMode string"]++
				if fm != st.FileMode {
					t.Fatalf("FileMode %q, truth %q", fm, st.FileMode)
				}
			default:
				n, ok := numberText(fm)
				if !ok || n != st.FileMode {
					t.Fatalf("FileMode %v (%T), truth %q", fm, fm, st.FileMode)
				}
				seen["FileMode number"]++
			}

			switch ow := inv["Overwrite"].(type) {
			case bool:
				seen["Overwrite bool"]++
				if ow != st.Overwrite {
					t.Fatalf("Overwrite %v, truth %v", ow, st.Overwrite)
				}
			case string:
				seen["Overwrite string"]++
				if ow != fmt.Sprint(st.Overwrite) {
					t.Fatalf("Overwrite %q, truth %v", ow, st.Overwrite)
				}
			default:
				t.Fatalf("Overwrite %v (%T)", ow, ow)
			}

			insts := list(inv, "InvokeInstances", "InvokeInstance")
			if len(insts) != len(st.Instances) {
				t.Fatalf("%s: %d instances", id, len(insts))
			}
			for i, rawInst := range insts {
				ri := rawInst.(map[string]any)
				it := st.Instances[i]
				checkTime("instance CreationTime", ri["CreationTime"].(string), it.Creation)
				update := it.Creation
				if v := ri["StartTime"].(string); v != "" {
					checkTime("StartTime", v, it.Start)
					update = it.Start
				} else if !it.Start.IsZero() && !now.Before(it.Start) {
					t.Fatalf("StartTime missing after start")
				}
				if v := ri["FinishTime"].(string); v != "" {
					checkTime("FinishTime", v, it.Finish)
					update = it.Finish
				} else if !now.Before(it.Finish) {
					t.Fatalf("FinishTime missing after finish")
				}
				checkTime("UpdateTime", ri["UpdateTime"].(string), update)
				code := ri["ErrorCode"].(string)
				if strings.HasPrefix(code, " ") {
					seen["ErrorCode leading space"]++
				}
				if !now.Before(it.Finish) && strings.TrimSpace(code) != it.ErrorCode {
					t.Fatalf("ErrorCode %q, truth %q", code, it.ErrorCode)
				}
			}
		}
		token, _ = body["NextToken"].(string)
		if token == "" {
			break
		}
	}
	if !equalStrings(walked, truthIDs(listed)) {
		t.Fatalf("raw walk returned %d records, want %d", len(walked), len(listed))
	}
	for _, q := range []string{"time Z", "time .mmmZ", "time .mmm+08:00", "time trailing newline", "millisecond truth",
		"TargetDir tab", "FileMode string", "FileMode number", "Overwrite bool", "Overwrite string",
		"ErrorCode leading space", "TotalCount string", "TotalCount number"} {
		if seen[q] == 0 {
			t.Errorf("quirk %q never rendered over %d records", q, len(listed))
		}
	}

	// A record renders identically on every poll while nothing changes.
	first := rawPage(t, c, map[string]any{"RegionId": "cn-hangzhou", "MaxResults": 50})
	second := rawPage(t, c, map[string]any{"RegionId": "cn-hangzhou", "MaxResults": 50})
	if !reflect.DeepEqual(first["Invocations"], second["Invocations"]) || !reflect.DeepEqual(first["TotalCount"], second["TotalCount"]) {
		t.Fatal("two polls at the same instant rendered differently")
	}

	// The SDK's typed models decode every quirk page (its decoder is fuzzy).
	typed, _ := walkTokens(t, c, request{RegionId: tea.String("cn-hangzhou")}, 50, nil)
	if !equalStrings(ids(typed), truthIDs(listed)) {
		t.Fatal("typed SDK walk over quirky pages differs")
	}
}

func TestCleanRenderingHasNoQuirks(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.SendsPerDay = 300 })
	s.Advance(36 * time.Hour)
	w := do(s, signedRequest(t, "h:1", map[string]string{"RegionId": "cn-hangzhou", "PageSize": "50"}, defaultCreds, nil))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	raw := w.Body.String()
	for _, bad := range []string{`Z\n"`, `":"\t`, `":" `, `+08:00`, `"Overwrite":true`, `"Overwrite":false`, `"FileMode":7`, `"TotalCount":"`} {
		if strings.Contains(raw, bad) {
			t.Errorf("clean rendering contains %q", bad)
		}
	}
	// Keys appear in the reference sample's order.
	order := []string{`{"PageSize":`, `,"RequestId":`, `,"PageNumber":`, `,"TotalCount":`, `,"NextToken":`, `,"Invocations":{"Invocation":[{"CreationTime":`}
	pos := 0
	for _, k := range order {
		i := strings.Index(raw[pos:], k)
		if i < 0 {
			t.Fatalf("%s missing or out of order", k)
		}
		pos += i
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Fatal("invalid JSON")
	}
}
