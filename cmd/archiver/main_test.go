package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// archiver runs the command in-process, as main would, and returns its exit
// code and output.
func archiver(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// Usage mistakes exit 2 with one sentence on stderr.
func TestUsageErrors(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"status"},
		{"status", "--invoke-id", "f-1", "--at", "yesterday"},
		{"status", "--invoke-id", "f-1", "--format", "xml"},
		{"history", "--invoke-id", "f-1", "--format", "yaml"},
		{"ingest", "--regions", "cn-hangzhou"},
		{"ingest", "--once"},
		{"ingest", "--once", "--regions", "Not A Region"},
		{"ingest", "--once", "--regions", "cn-hangzhou", "--endpoint", "ftp://x"},
		{"run", "--regions", "cn-hangzhou", "--schedule", "every tuesday"},
		{"migrate", "sideways"},
		{"verify", "extra"},
		{"report", "--at", "2026-13-01T00:00:00Z"},
		{"--no-such-flag", "verify"},
	} {
		code, out, errOut := archiver(t, args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, errOut)
			continue
		}
		if len(args) == 0 {
			continue // bare `archiver` prints the usage
		}
		if out != "" || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.HasPrefix(errOut, "archiver: ") {
			t.Errorf("%q: want one line on stderr, got stdout %q stderr %q", args, out, errOut)
		}
	}
}

// Help never shows a secret from the environment.
func TestHelpShowsNoSecrets(t *testing.T) {
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s3cr3t-from-env")
	t.Setenv("DATABASE_URL", "postgres://u:dbpassw0rd@localhost/db")
	for _, cmd := range []string{"", "ingest", "run", "status", "history", "report", "verify", "coverage", "sim", "demo", "migrate"} {
		args := []string{"--help"}
		if cmd != "" {
			args = []string{cmd, "--help"}
		}
		code, out, errOut := archiver(t, args...)
		if code != exitOK || out == "" {
			t.Errorf("%s --help: exit %d, stdout %q stderr %q", cmd, code, out, errOut)
		}
		if strings.Contains(out+errOut, "s3cr3t") || strings.Contains(out+errOut, "dbpassw0rd") {
			t.Errorf("%s --help leaks a secret", cmd)
		}
	}
}

// The whole contract through the CLI: ingest from the simulator over the
// real SDK, then status/history/report/verify/coverage in their formats.
func TestCommandLineContract(t *testing.T) {
	sim, err := cloudsim.New(cloudsim.Config{Seed: 21})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	cfg := sim.Config()
	t.Setenv("DATABASE_URL", storetest.URL(t))
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", cfg.AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", cfg.AccessKeySecret)

	if code, out, errOut := archiver(t, "migrate"); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	sim.Advance(3 * 24 * time.Hour)
	code, out, errOut := archiver(t, "ingest", "--once", "--regions", "cn-hangzhou", "--endpoint", srv.URL)
	if code != 0 || !strings.Contains(out, "cn-hangzhou") {
		t.Fatalf("ingest: %d %q %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, cfg.AccessKeySecret) {
		t.Fatal("ingest output contains the access key secret")
	}

	send := sim.Sends()[0]
	at := send.CreationTime.Add(20 * time.Second)
	code, out, errOut = archiver(t, "status", "--invoke-id", send.InvokeID, "--at", at.Format(time.RFC3339), "--format", "json")
	if code != 0 {
		t.Fatalf("status: %d %q", code, errOut)
	}
	var status map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &status); err != nil {
		t.Fatalf("status json: %v\n%s", err, out)
	}
	if got := sortedKeys(status); strings.Join(got, ",") != "at,instances,invoke_id,known_at,region,reported_status,status" {
		t.Fatalf("status keys %v", got)
	}
	var instances []map[string]any
	_ = json.Unmarshal(status["instances"], &instances)
	wantAgg, wantInst, _ := sim.StatusAt(send.InvokeID, at)
	var agg string
	_ = json.Unmarshal(status["status"], &agg)
	if agg != wantAgg || len(instances) != len(wantInst) {
		t.Fatalf("status %s with %d instances, truth %s with %d", agg, len(instances), wantAgg, len(wantInst))
	}
	for _, in := range instances {
		keys := []string{}
		for k := range in {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if strings.Join(keys, ",") != "error_code,error_info,instance_id,since,status" {
			t.Fatalf("instance keys %v", keys)
		}
		if in["status"] != wantInst[in["instance_id"].(string)] {
			t.Fatalf("instance %v, truth %v", in, wantInst)
		}
	}
	if code, _, errOut := archiver(t, "status", "--invoke-id", send.InvokeID, "--at", send.CreationTime.Add(-time.Minute).Format(time.RFC3339)); code != exitNotFound || errOut == "" {
		t.Fatalf("status before creation: exit %d %q", code, errOut)
	}
	if code, _, errOut := archiver(t, "status", "--invoke-id", "f-doesnotexist"); code != exitNotFound || !strings.Contains(errOut, "f-doesnotexist") {
		t.Fatalf("unknown send: exit %d %q", code, errOut)
	}
	if code, out, _ := archiver(t, "status", "--invoke-id", send.InvokeID); code != 0 || !strings.Contains(out, "INSTANCE") {
		t.Fatalf("status table: %d %q", code, out)
	}

	code, out, _ = archiver(t, "history", "--invoke-id", send.InvokeID, "--format", "json")
	var history []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &history) != nil || len(history) < 3 {
		t.Fatalf("history: %d %q", code, out)
	}
	for i, h := range history {
		for _, k := range []string{"seq", "type", "instance_id", "from_status", "to_status", "occurred_at", "recorded_at", "evidence"} {
			if _, ok := h[k]; !ok {
				t.Fatalf("history event %d lacks %s: %v", i, k, h)
			}
		}
		if int(h["seq"].(float64)) != i+1 {
			t.Fatalf("history out of order at %d: %v", i, h)
		}
	}
	if code, out, _ := archiver(t, "history", "--invoke-id", send.InvokeID, "--format", "csv"); code != 0 || strings.Count(out, "\n") != len(history)+1 {
		t.Fatalf("history csv: %d %q", code, out)
	}
	if code, out, _ := archiver(t, "report", "--format", "json", "--at", sim.Now().Format(time.RFC3339)); code != 0 || !strings.Contains(out, `"sends"`) {
		t.Fatalf("report: %d %q", code, out)
	}
	if code, out, _ := archiver(t, "verify"); code != 0 || !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("verify: %d %q", code, out)
	}
	if code, out, _ := archiver(t, "coverage"); code != 0 || !strings.Contains(out, "1 complete walks") {
		t.Fatalf("coverage: %d %q", code, out)
	}

	// A wrong secret fails the cycle with a sentence about credentials.
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "wrong-secret-value")
	code, out, errOut = archiver(t, "ingest", "--once", "--regions", "cn-hangzhou", "--endpoint", srv.URL)
	if code != exitFailure || !strings.Contains(errOut, "credentials rejected") || strings.Contains(out+errOut, "wrong-secret-value") {
		t.Fatalf("wrong secret: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
