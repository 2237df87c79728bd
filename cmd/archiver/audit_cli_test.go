package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// archivedCLI fills a fresh archive through the CLI and returns its URL.
func archivedCLI(t *testing.T, seed int64) string {
	t.Helper()
	sim, srv := simulatedCloud(t, seed)
	url := storetest.URL(t)
	t.Setenv("DATABASE_URL", url)
	for i := 0; i < 4; i++ {
		sim.Advance(12 * time.Hour)
		if code, _, errOut := archiver(t, "ingest", "--once", "--regions", "cn-hangzhou", "--endpoint", srv.URL); code != 0 {
			t.Fatalf("ingest: %s", errOut)
		}
	}
	return url
}

// The attacker of DESIGN.md §10.4: a superuser rewrites a chain from an old
// event on and recomputes every later hash and the head. Plain verify cannot
// tell; verify with a checkpoint taken before the rewrite can, and names the
// position. The checkpoint's signature checks out with openssl.
func TestCheckpointCatchesRewrittenChain(t *testing.T) {
	url := archivedCLI(t, 41)
	dir := t.TempDir()
	key := filepath.Join(dir, "archive")
	if code, out, errOut := archiver(t, "keygen", "--out", key); code != 0 || !strings.Contains(out, "archive.key") {
		t.Fatalf("keygen: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := archiver(t, "keygen", "--out", key); code == 0 || !strings.Contains(errOut, "exists") {
		t.Fatalf("keygen over existing keys: %d %q", code, errOut)
	}
	cp := filepath.Join(dir, "cp.json")
	if code, _, errOut := archiver(t, "checkpoint", "--out", cp, "--sign-key", key+".key"); code != 0 {
		t.Fatalf("checkpoint: %s", errOut)
	}
	out, err := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", key+".pub", "-rawin", "-in", cp,
		"-sigfile", cp+".sig").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Fatalf("openssl: %v %s", err, out)
	}
	if code, out, _ := archiver(t, "verify", "--checkpoint", cp, "--public-key", key+".pub"); code != 0 || !strings.Contains(out, "1 checkpoints extended") {
		t.Fatalf("verify with the checkpoint before the rewrite: %d %q", code, out)
	}

	_, position := storetest.RewriteChain(t, url)
	if code, out, errOut := archiver(t, "verify"); code != 0 || !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("plain verify should not see a consistent rewrite: %d %q %q", code, out, errOut)
	}
	code, _, errOut := archiver(t, "verify", "--checkpoint", cp, "--public-key", key+".pub")
	if code != exitMismatch || !strings.Contains(errOut, "position") || !strings.Contains(errOut, "rewritten") {
		t.Fatalf("verify --checkpoint after rewriting position %d: exit %d %q", position, code, errOut)
	}
	if code, _, errOut := archiver(t, "checkpoint", "--out", cp); code == 0 || !strings.Contains(errOut, "cp.json") {
		t.Fatalf("checkpoint over an existing file: %d %q", code, errOut)
	}
}

// A writer who changes a projection (so archive.sends says Success while
// the log says otherwise) fails verify, naming it; rebuild repairs it.
func TestVerifyChecksProjections(t *testing.T) {
	url := archivedCLI(t, 43)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var invokeID string
	if err := conn.QueryRow(ctx, `UPDATE archive.invocations SET derived_status = 'Bogus'
		WHERE invoke_id = (SELECT min(invoke_id) FROM archive.invocations) RETURNING invoke_id`).Scan(&invokeID); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := archiver(t, "verify")
	if code != exitMismatch || !strings.Contains(out, invokeID) || !strings.Contains(out, "derived_status is Bogus") {
		t.Fatalf("verify after a projection edit: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := archiver(t, "rebuild"); code != 0 || !strings.Contains(out, "rebuilt") {
		t.Fatalf("rebuild: %d %q %q", code, out, errOut)
	}
	if code, out, _ := archiver(t, "verify"); code != 0 {
		t.Fatalf("verify after rebuild: %d %q", code, out)
	}
}

// Exports and their verification through the CLI: exit codes, one-sentence
// usage errors, nothing written on bad input.
func TestExportCommandLine(t *testing.T) {
	archivedCLI(t, 47)
	dir := t.TempDir()
	from, to := "2026-01-05T00:00:00Z", "2026-01-08T00:00:00Z"
	out := filepath.Join(dir, "q")
	if code, stdout, errOut := archiver(t, "export", "--from", from, "--to", to, "--out", out, "--format", "csv"); code != 0 ||
		!strings.Contains(stdout, "events.csv") {
		t.Fatalf("export: %d %q %q", code, stdout, errOut)
	}
	if code, stdout, _ := archiver(t, "verify-export", out, "--against-db"); code != 0 || !strings.HasPrefix(stdout, "ok: ") {
		t.Fatalf("verify-export: %d %q", code, stdout)
	}
	_ = os.WriteFile(filepath.Join(out, "events.csv"), []byte("nothing\n"), 0o644)
	if code, _, errOut := archiver(t, "verify-export", out); code != exitMismatch || !strings.Contains(errOut, "events.csv") {
		t.Fatalf("verify-export of a changed export: %d %q", code, errOut)
	}
	badKey := filepath.Join(dir, "bad.key")
	_ = os.WriteFile(badKey, []byte("not a key"), 0o600)
	for _, args := range [][]string{
		{"export", "--from", from, "--to", to, "--out", out},                     // not empty
		{"export", "--from", to, "--to", from, "--out", filepath.Join(dir, "a")}, // from after to
		{"export", "--from", from, "--to", to, "--out", filepath.Join(dir, "b"), "--format", "xml"},
		{"export", "--from", from, "--to", to, "--out", filepath.Join(dir, "c"), "--sign-key", badKey},
		{"export", "--from", from, "--to", to, "--out", filepath.Join(dir, "d"), "--sign-key", filepath.Join(dir, "none.key")},
		{"verify-export", out, "--public-key", badKey},
		{"verify", "--checkpoint", filepath.Join(dir, "none.json")},
	} {
		code, stdout, errOut := archiver(t, args...)
		if code != exitUsage || stdout != "" || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want one usage line", args, code, stdout, errOut)
		}
	}
	for _, d := range []string{"a", "b", "c", "d"} {
		if _, err := os.Stat(filepath.Join(dir, d, "manifest.json")); err == nil {
			t.Errorf("a refused export wrote %s/manifest.json", d)
		}
	}
}
