package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudassistant/sendfile-archive/audit"
	"github.com/cloudassistant/sendfile-archive/signing"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

func keyPair(t *testing.T) (string, string) {
	t.Helper()
	priv, pub, err := signing.GenerateKeyFiles(filepath.Join(t.TempDir(), "archive"))
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// copyDir copies an export so each tampering starts from an intact one.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-r", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	return dst
}

func editFile(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// editManifest rewrites manifest.json through fn (its signature, if any, no
// longer matches).
func editManifest(t *testing.T, dir string, fn func(*audit.Manifest)) {
	t.Helper()
	editFile(t, filepath.Join(dir, "manifest.json"), func(b []byte) []byte {
		var m audit.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		fn(&m)
		out, _ := json.MarshalIndent(m, "", "  ")
		return append(out, '\n')
	})
}

// fixEntry makes the manifest's entry for name match the file again, as a
// forger who edits a data file and the (unsigned) manifest would.
func fixEntry(t *testing.T, dir, name string) {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, name))
	editManifest(t, dir, func(m *audit.Manifest) {
		for i := range m.Files {
			if m.Files[i].Name == name {
				sum := sha256Hex(b)
				m.Files[i].SHA256, m.Files[i].Bytes = sum, int64(len(b))
			}
		}
	})
}

// An intact signed export verifies, with our tool and with openssl exactly
// as DESIGN.md §10.1 shows; each kind of tampering is caught and named.
func TestVerifyExportCatchesTampering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _, sim := archive(t)
	privPath, pubPath := keyPair(t)
	key, err := signing.LoadPrivateKey(privPath)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := signing.LoadPublicKey(pubPath)
	_, otherPubPath := keyPair(t)
	otherPub, _ := signing.LoadPublicKey(otherPubPath)
	dir := filepath.Join(t.TempDir(), "signed")
	export(t, st, audit.ExportOptions{Selection: period(sim), Dir: dir, SignKey: key})
	other := filepath.Join(t.TempDir(), "other")
	sel := period(sim)
	sel.From = sel.From.Add(-24 * 3600e9)
	export(t, st, audit.ExportOptions{Selection: sel, Dir: other})

	if rep, err := audit.VerifyExport(ctx, audit.VerifyOptions{Dir: dir, PublicKey: pub, AgainstDB: st}); err != nil || rep.SignatureState != "verified" {
		t.Fatalf("intact export: %+v %v", rep, err)
	}
	out, err := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin",
		"-in", filepath.Join(dir, "manifest.json"), "-sigfile", filepath.Join(dir, "manifest.json.sig")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Fatalf("openssl does not verify the manifest: %v %s", err, out)
	}

	cases := []struct {
		name   string
		tamper func(d string)
		pub    []byte
		want   string
	}{
		{"changed byte", func(d string) {
			editFile(t, filepath.Join(d, "events.jsonl"), func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
		}, nil, "events.jsonl has SHA-256"},
		{"deleted row", func(d string) {
			editFile(t, filepath.Join(d, "events.jsonl"), func(b []byte) []byte {
				lines := bytes.SplitAfter(b, []byte("\n"))
				return bytes.Join(append(lines[:3], lines[4:]...), nil)
			})
		}, nil, "events.jsonl has"},
		{"file from another export", func(d string) {
			b, _ := os.ReadFile(filepath.Join(other, "sends.jsonl"))
			_ = os.WriteFile(filepath.Join(d, "sends.jsonl"), b, 0o644)
		}, nil, "sends.jsonl has"},
		{"edited manifest, unsigned check", func(d string) {
			editManifest(t, d, func(m *audit.Manifest) { m.Files[0].Rows++ })
		}, nil, "rows, manifest.json says"},
		{"edited manifest, signed", func(d string) {
			editManifest(t, d, func(m *audit.Manifest) { m.CreatedAt = "2020-01-01T00:00:00.000000Z" })
		}, pub, "signature does not match"},
		{"wrong public key", func(string) {}, otherPub, "signature does not match"},
		{"event no longer re-hashes", func(d string) {
			editFile(t, filepath.Join(d, "events.jsonl"), func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"evidence":"CreationTime"`), []byte(`"evidence":"FinishTime"`), 1)
			})
			fixEntry(t, d, "events.jsonl")
		}, nil, "do not re-hash"},
		{"unlisted file", func(d string) { _ = os.WriteFile(filepath.Join(d, "extra.jsonl"), []byte("{}\n"), 0o644) }, nil, "not in manifest.json"},
		{"no manifest", func(d string) { _ = os.Remove(filepath.Join(d, "manifest.json")) }, nil, "no readable manifest.json"},
	}
	for _, tc := range cases {
		d := copyDir(t, dir)
		tc.tamper(d)
		var key []byte
		if tc.pub != nil {
			key = tc.pub
		}
		_, err := audit.VerifyExport(ctx, audit.VerifyOptions{Dir: d, PublicKey: key})
		if !audit.IsMismatch(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a mismatch saying %q", tc.name, err, tc.want)
		}
	}
}

// An export whose events the live archive no longer has (a superuser
// rewrote the chain after it was taken) fails --against-db.
func TestVerifyExportAgainstRewrittenArchive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, url, sim := archive(t)
	dir := filepath.Join(t.TempDir(), "x")
	export(t, st, audit.ExportOptions{Selection: period(sim), Dir: dir})
	if _, err := audit.VerifyExport(ctx, audit.VerifyOptions{Dir: dir, AgainstDB: st}); err != nil {
		t.Fatalf("before the rewrite: %v", err)
	}
	target, position := storetest.RewriteChain(t, url)
	_, err := audit.VerifyExport(ctx, audit.VerifyOptions{Dir: dir, AgainstDB: st})
	if !audit.IsMismatch(err) || !strings.Contains(err.Error(), "live") {
		t.Fatalf("after rewriting target %d from position %d: %v", target, position, err)
	}
	if _, err := audit.VerifyExport(ctx, audit.VerifyOptions{Dir: dir}); err != nil {
		t.Fatalf("offline, the export itself is still intact: %v", err)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
