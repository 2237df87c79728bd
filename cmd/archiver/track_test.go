package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// Bad input exits 2 with one sentence, before any database is opened.
func TestTrackUsageErrors(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--region", "cn-wulanchabu", "--invoke-id", "t-1"}, "--source is required"},
		{[]string{"--source", "eflo.Nonsense", "--region", "cn-wulanchabu", "--invoke-id", "t-1"}, "not a source the archive knows"},
		{[]string{"--source", "ecs.DescribeSendFileResults", "--region", "cn-hangzhou", "--invoke-id", "f-1"}, "listed, not tracked"},
		{[]string{"--source", "ecs.DescribeInvocations", "--region", "cn-hangzhou", "--invoke-id", "t-1"}, "listed, not tracked"},
		{[]string{"--source", "eflo.DescribeSendFileResults", "--region", "cn-wulanchabu"}, "--invoke-id is required"},
		{[]string{"--source", "eflo.DescribeSendFileResults", "--region", "cn-wulanchabu", "--invoke-id", " "}, "--invoke-id is required"},
		{[]string{"--source", "eflo.DescribeInvocations", "--invoke-id", "t-1"}, "--region is required"},
		{[]string{"--source", "eflo.DescribeInvocations", "--region", "Wulanchabu", "--invoke-id", "t-1"}, "not a region id"},
		{[]string{"--source", "eflo.DescribeInvocations", "--region", "cn-wulanchabu", "--invoke-id", "t-1", "--account", " a"}, "surrounding spaces"},
		{[]string{"--source", "eflo.DescribeInvocations", "--region", "cn-wulanchabu", "--invoke-id", "t-1", "extra"}, "unexpected argument"},
	} {
		code, out, errOut := archiver(t, append([]string{"track"}, c.args...)...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "archiver: ") ||
			strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("track %q: exit %d, stdout %q, stderr %q; want 2 and one line saying %q", c.args, code, out, errOut, c.want)
		}
	}
}

// track registers a task once (again is fine and says so), the account
// defaults to the one archiving the region and source, and an ingest cycle
// configured for EFLO polls the task into the archive.
func TestTrackRegistersAndIngestPolls(t *testing.T) {
	ctx := context.Background()
	sim, err := cloudsim.New(cloudsim.Config{Seed: 47, EFLOSendsPerDay: 48, NodeFleetSize: 4, Regions: []string{"cn-wulanchabu"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := simServer(t, sim)
	dbURL := storetest.URL(t)
	t.Setenv("DATABASE_URL", dbURL)
	sim.Advance(6 * time.Hour)
	var task cloudsim.EFLOTaskTruth
	for _, tk := range sim.EFLOTasks() {
		if tk.Kind == cloudsim.EFLOKindSendFile {
			task = tk
			break
		}
	}
	if task.InvokeID == "" {
		t.Fatal("setup: no EFLO send-file task")
	}
	track := []string{"track", "--source", "eflo.DescribeSendFileResults", "--region", "cn-wulanchabu", "--invoke-id", task.InvokeID}
	code, out, errOut := archiver(t, track...)
	if code != 0 || !strings.Contains(out, "tracking "+task.InvokeID) || !strings.Contains(errOut, "adopts this task") {
		t.Fatalf("track: %d %q %q", code, out, errOut)
	}
	code, out, errOut = archiver(t, track...)
	if code != 0 || !strings.Contains(out, "already tracked") || !strings.Contains(out, "nothing changed") {
		t.Fatalf("track again: %d %q %q", code, out, errOut)
	}

	cfg := filepath.Join(t.TempDir(), "archiver.yaml")
	if err := os.WriteFile(cfg, []byte("endpoint: "+srv+"\naccounts:\n  - name: lingjun\n    regions: [cn-wulanchabu]\n"+
		"    sources: [eflo.DescribeSendFileResults, eflo.DescribeInvocations]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the task is long finished: one poll sees it final, the next confirms
		sim.Advance(6 * time.Hour)
		if code, out, errOut := archiver(t, "ingest", "--once", "--config", cfg); code != 0 || !strings.Contains(out, "lingjun/cn-wulanchabu/eflo.DescribeSendFileResults") {
			t.Fatalf("ingest: %d %q %q", code, out, errOut)
		}
	}
	code, out, errOut = archiver(t, append(track, "--account", "lingjun")...)
	if code != 0 || !strings.Contains(out, "lingjun/cn-wulanchabu/eflo.DescribeSendFileResults (done)") {
		t.Fatalf("track after the task was polled to the end: %d %q %q", code, out, errOut)
	}
	code, out, errOut = archiver(t, "status", "--invoke-id", task.InvokeID, "--format", "json")
	var status struct{ Status string }
	if code != 0 || json.Unmarshal([]byte(out), &status) != nil {
		t.Fatalf("status of the tracked task: %d %q %q", code, out, errOut)
	}
	if want, _, _ := sim.TaskStatusAt(cloudsim.SourceEFLOSendFile, task.InvokeID, sim.Now()); status.Status != want {
		t.Fatalf("status %s, truth %s", status.Status, want)
	}

	// A second account archiving the region: the account must be named.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO archive.targets (account, region, source) VALUES ('other', 'cn-wulanchabu', $1)`,
		model.SourceEFLOSendFileResults); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = archiver(t, "track", "--source", "eflo.DescribeSendFileResults", "--region", "cn-wulanchabu", "--invoke-id", "t-new")
	if code != exitUsage || !strings.Contains(errOut, "name the account") || !strings.Contains(errOut, "--account") {
		t.Fatalf("track with two accounts and none named: %d %q", code, errOut)
	}
	if code, out, _ := archiver(t, "track", "--source", "eflo.DescribeSendFileResults", "--region", "cn-wulanchabu",
		"--invoke-id", "t-new", "--account", "other"); code != 0 || !strings.Contains(out, "tracking t-new in other/") {
		t.Fatalf("track naming the account: %d %q", code, out)
	}
}

// simServer serves sim and sets its key pair as the environment's
// credentials; it returns the endpoint URL.
func simServer(t *testing.T, sim *cloudsim.Sim) string {
	t.Helper()
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", sim.Config().AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", sim.Config().AccessKeySecret)
	return srv.URL
}
