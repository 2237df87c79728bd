package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// A disk that fills up mid-export (a file size limit set with ulimit -f)
// fails the export with an error, leaves no manifest and no data files, and
// the process exits 1 rather than dying.
func TestExportOnAFullDisk(t *testing.T) {
	t.Parallel()
	c := newCloud(t, cloudsim.Config{Seed: 91, SendsPerDay: 200})
	c.sim.Advance(10 * 24 * time.Hour)
	url := storetest.URL(t)
	ingestOnce(t, url, c)
	dir := filepath.Join(t.TempDir(), "export")
	// 64 blocks of 1 KiB: far less than the export needs.
	cmd := exec.Command("bash", "-c", `ulimit -f 64 && exec "$0" "$@"`, binary, "export",
		"--from", "2026-01-01T00:00:00Z", "--to", "2026-02-01T00:00:00Z", "--out", dir)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url)
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("export on a full disk: exit %d (%v)\n%s", code, err, out)
	}
	if !strings.Contains(string(out), "file too large") {
		t.Fatalf("the failure does not say why:\n%s", out)
	}
	var left []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Fatalf("the failed export left %v", left)
	}
}

// The daemon writes a checkpoint into --checkpoint-dir after its first
// cycle, signed, and records it in the archive.
func TestDaemonWritesCheckpoints(t *testing.T) {
	t.Parallel()
	c := newCloud(t, cloudsim.Config{Seed: 92})
	c.sim.Advance(2 * 24 * time.Hour)
	url := storetest.URL(t)
	dir := t.TempDir()
	keygen := exec.Command(binary, "keygen", "--out", filepath.Join(dir, "k"))
	if out, err := keygen.CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v %s", err, out)
	}
	cps := filepath.Join(dir, "checkpoints")
	ch := start(t, url, c, "run", "--schedule", "@every 1h", "--listen", "off", "--checkpoint-dir", cps,
		"--checkpoint-key", filepath.Join(dir, "k.key"))
	var files []string
	waitFor(t, 30*time.Second, "a checkpoint file", func() bool {
		files, _ = filepath.Glob(filepath.Join(cps, "checkpoint-*.json"))
		return len(files) == 1
	})
	waitFor(t, 10*time.Second, "its signature", func() bool { _, err := os.Stat(files[0] + ".sig"); return err == nil })
	out, err := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", filepath.Join(dir, "k.pub"), "-rawin",
		"-in", files[0], "-sigfile", files[0]+".sig").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v %s", err, out)
	}
	var n int
	queryRow(t, url, `SELECT count(*) FROM archive.checkpoints WHERE signature IS NOT NULL`, &n)
	if n != 1 {
		t.Fatalf("%d checkpoints recorded", n)
	}
	ch.signal(t, syscall.SIGTERM)
	ch.wait(t, 10*time.Second)
	verify := exec.Command(binary, "verify", "--checkpoint", files[0], "--public-key", filepath.Join(dir, "k.pub"))
	verify.Env = append(os.Environ(), "DATABASE_URL="+url)
	if out, err := verify.CombinedOutput(); err != nil {
		t.Fatalf("verify with the daemon's checkpoint: %v %s", err, out)
	}
}
