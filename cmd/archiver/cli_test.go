package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// Global flags work after the command as well as before it.
func TestFlagsAfterTheCommand(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	dbURL := storetest.URL(t)
	for _, args := range [][]string{
		{"--database-url", dbURL, "status", "--invoke-id", "f-none"},
		{"status", "--database-url", dbURL, "--invoke-id", "f-none"},
		{"status", "--invoke-id", "f-none", "--database-url", dbURL},
	} {
		code, _, errOut := archiver(t, args...)
		if code != exitNotFound || !strings.Contains(errOut, "f-none") {
			t.Errorf("%q: exit %d %q, want 3 naming the send", args, code, errOut)
		}
	}
}

// --help prints once, to stdout; --version prints the build.
func TestHelpOnceAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"status", "--help"}, {"help", "status"}, {"migrate", "--help"}} {
		code, out, errOut := archiver(t, args...)
		if code != 0 || strings.Count(out, "Usage:") != 1 || errOut != "" {
			t.Errorf("%q: exit %d, %d usages on stdout, stderr %q", args, code, strings.Count(out, "Usage:"), errOut)
		}
	}
	code, out, _ := archiver(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "archiver version ") {
		t.Errorf("--version: exit %d %q", code, out)
	}
	if code, out, _ := archiver(t, "completion", "bash"); code != 0 || !strings.Contains(out, "archiver") {
		t.Errorf("completion bash: exit %d", code)
	}
}

// Every config key has an environment variable; flags override it only when
// given; zero values are settable and a zero timeout is refused, naming the
// field, with the cause in the error chain.
func TestConfigPipeline(t *testing.T) {
	t.Setenv("ARCHIVER_REGIONS", "cn-env-a,cn-env-b")
	t.Setenv("ARCHIVER_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("ARCHIVER_SCHEDULE", "@every 7m")
	t.Setenv("ARCHIVER_LISTEN", "off")
	t.Setenv("ARCHIVER_TIMEOUT", "9s")
	build := func(args ...string) (config, error) {
		var f configFlags
		cmd := &cobra.Command{Use: "x"}
		f.register(cmd, true)
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		return f.build(cmd)
	}
	cfg, err := build()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Regions, ",") != "cn-env-a,cn-env-b" || cfg.Endpoint != "http://127.0.0.1:1" ||
		cfg.Schedule != "@every 7m" || cfg.Listen != "" || cfg.Timeout.Duration != 9*time.Second {
		t.Fatalf("from the environment: %+v", cfg)
	}
	cfg, err = build("--regions", "cn-flag", "--timeout", "3s", "--listen", "127.0.0.1:9")
	if err != nil || cfg.Regions[0] != "cn-flag" || cfg.Timeout.Duration != 3*time.Second || cfg.Listen != "127.0.0.1:9" ||
		cfg.Schedule != "@every 7m" {
		t.Fatalf("flags over the environment: %+v %v", cfg, err)
	}
	_, err = build("--timeout", "0")
	var fe fieldError
	var ue usageError
	if !errors.As(err, &fe) || fe.field != "timeout" || !errors.As(err, &ue) {
		t.Fatalf("--timeout 0: %v, want a usage error naming the timeout field", err)
	}
	t.Setenv("ARCHIVER_CONCURRENCY", "3")
	if cfg, err := build(); err != nil || cfg.Concurrency != 3 {
		t.Fatalf("ARCHIVER_CONCURRENCY=3: %+v %v", cfg, err)
	}
	if cfg, err := build("--concurrency", "8"); err != nil || cfg.Concurrency != 8 {
		t.Fatalf("--concurrency 8 over the environment: %+v %v", cfg, err)
	}
	if _, err := build("--concurrency", "-1"); !errors.As(err, &fe) || fe.field != "concurrency" {
		t.Fatalf("--concurrency -1: %v, want an error naming the concurrency field", err)
	}
	t.Setenv("ARCHIVER_TIMEOUT", "soon")
	if _, err := build(); !errors.As(err, &fe) || fe.field != "timeout" || !strings.Contains(err.Error(), "ARCHIVER_TIMEOUT") {
		t.Fatalf("ARCHIVER_TIMEOUT=soon: %v", err)
	}
}

// simulatedCloud serves a simulator for the test and puts its credentials
// in the environment, as an operator would.
func simulatedCloud(t *testing.T, seed int64) (*cloudsim.Sim, *httptest.Server) {
	t.Helper()
	sim, err := cloudsim.New(cloudsim.Config{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", sim.Config().AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", sim.Config().AccessKeySecret)
	return sim, srv
}

// asRole returns dbURL with another user (the throwaway server trusts local
// connections, as the roles tests rely on).
func asRole(t *testing.T, dbURL, role string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

// The README's order, exactly: the owner migrates, the archiver's writer
// login ingests and reads; the writer cannot migrate and is told who can;
// `migrate down` never drops the archive without --destroy-archive.
func TestOwnerMigratesWriterRuns(t *testing.T) {
	ctx := context.Background()
	sim, srv := simulatedCloud(t, 23)
	owner := storetest.EmptyURL(t)
	t.Setenv("DATABASE_URL", owner)
	if code, out, errOut := archiver(t, "migrate"); code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("owner migrate: %d %q %q", code, out, errOut)
	}
	conn, err := pgx.Connect(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	writer := fmt.Sprintf("archiver_%d", rand.Uint32())
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN IN ROLE archive_writer`, writer)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), fmt.Sprintf(`DROP ROLE IF EXISTS %s`, writer)) })

	t.Setenv("DATABASE_URL", asRole(t, owner, writer))
	sim.Advance(2 * 24 * time.Hour)
	if code, out, errOut := archiver(t, "ingest", "--once", "--regions", "cn-hangzhou", "--endpoint", srv.URL); code != 0 {
		t.Fatalf("writer ingest: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := archiver(t, "verify"); code != 0 {
		t.Fatalf("writer verify: %d %q %q", code, out, errOut)
	}
	code, _, errOut := archiver(t, "migrate")
	if code != exitFailure || !strings.Contains(errOut, "as the archive's owner") || strings.Contains(errOut, "SQLSTATE") {
		t.Fatalf("writer migrate: exit %d %q, want 1 saying who may migrate", code, errOut)
	}

	t.Setenv("DATABASE_URL", owner)
	for i := 0; ; i++ {
		code, out, errOut := archiver(t, "migrate", "down")
		if code == 0 {
			if !strings.Contains(out, "rolled back") || i > 50 {
				t.Fatalf("migrate down: %q", out)
			}
			continue
		}
		if code != exitUsage || !strings.Contains(errOut, "--destroy-archive") {
			t.Fatalf("migrate down past the first migration: exit %d %q, want 2 naming --destroy-archive", code, errOut)
		}
		break
	}
	var events int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM archive.events`).Scan(&events); err != nil || events == 0 {
		t.Fatalf("the archive did not survive repeated migrate down: %d events, %v", events, err)
	}
}

// Commands against a database that was never migrated say so in one
// sentence, with no raw SQLSTATE.
func TestCommandsBeforeMigrate(t *testing.T) {
	t.Setenv("DATABASE_URL", storetest.EmptyURL(t))
	for _, args := range [][]string{{"report"}, {"status", "--invoke-id", "f-1"}, {"verify"}, {"coverage"}} {
		code, out, errOut := archiver(t, args...)
		if code != exitFailure || !strings.Contains(errOut, "run `archiver migrate` first") ||
			strings.Contains(errOut, "SQLSTATE") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// A failed cycle is reported once, not as a log line and again as the
// command's error; --log-format json makes every log line JSON.
func TestFailureReportedOnceAndJSONLogs(t *testing.T) {
	sim, srv := simulatedCloud(t, 29)
	t.Setenv("DATABASE_URL", storetest.URL(t))
	sim.Advance(24 * time.Hour)
	code, _, errOut := archiver(t, "ingest", "--once", "--regions", "cn-hangzhou", "--endpoint", srv.URL, "--log-format", "json")
	if code != 0 {
		t.Fatalf("ingest: %d %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["level"] == nil || m["msg"] == nil {
			t.Fatalf("not a JSON log line: %q", l)
		}
	}
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "wrong-secret-value")
	code, out, errOut := archiver(t, "ingest", "--once", "--regions", "cn-hangzhou", "--endpoint", srv.URL, "--log-format", "text")
	if code != exitFailure || strings.Count(out+errOut, "credentials rejected") != 1 {
		t.Fatalf("want the failure once, exit 1; got exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// `status --known-at K` for a send the archive recorded after K says that
// the archive had not recorded it yet (exit 3), not that it is unknown.
func TestKnownAtBeforeFirstRecorded(t *testing.T) {
	sim, srv := simulatedCloud(t, 31)
	t.Setenv("DATABASE_URL", storetest.URL(t))
	sim.Advance(24 * time.Hour)
	before := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	if code, _, errOut := archiver(t, "ingest", "--once", "--regions", "cn-hangzhou", "--endpoint", srv.URL); code != 0 {
		t.Fatalf("ingest: %s", errOut)
	}
	send := sim.Sends()[0]
	code, _, errOut := archiver(t, "status", "--invoke-id", send.InvokeID, "--known-at", before)
	if code != exitNotFound || !strings.Contains(errOut, "had not recorded it yet") {
		t.Fatalf("exit %d %q", code, errOut)
	}
}
