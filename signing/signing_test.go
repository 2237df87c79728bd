package signing_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudassistant/sendfile-archive/signing"
)

func keys(t *testing.T) (string, string) {
	t.Helper()
	priv, pub, err := signing.GenerateKeyFiles(filepath.Join(t.TempDir(), "archive"))
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// Key files have the right modes and are never overwritten.
func TestGenerateKeyFiles(t *testing.T) {
	t.Parallel()
	priv, pub := keys(t)
	for path, want := range map[string]os.FileMode{priv: 0o600, pub: 0o644} {
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != want {
			t.Fatalf("%s: mode %v, want %v (%v)", path, st.Mode().Perm(), want, err)
		}
	}
	before, _ := os.ReadFile(priv)
	if _, _, err := signing.GenerateKeyFiles(strings.TrimSuffix(priv, ".key")); err == nil {
		t.Fatal("generating over existing keys succeeded")
	}
	if after, _ := os.ReadFile(priv); !bytes.Equal(before, after) {
		t.Fatal("the existing private key changed")
	}
}

// Signatures round-trip and any change breaks them.
func TestSignVerify(t *testing.T) {
	t.Parallel()
	privPath, pubPath := keys(t)
	priv, err := signing.LoadPrivateKey(privPath)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signing.LoadPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPub := keys(t)
	other, _ := signing.LoadPublicKey(otherPub)
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	for _, msg := range [][]byte{{}, []byte("manifest"), big} {
		sig := signing.Sign(priv, msg)
		if err := signing.Verify(pub, msg, sig); err != nil {
			t.Fatalf("honest signature: %v", err)
		}
		if signing.Verify(other, msg, sig) == nil {
			t.Fatal("another key verified the signature")
		}
		sig[3] ^= 1
		if signing.Verify(pub, msg, sig) == nil {
			t.Fatal("a flipped signature bit verified")
		}
		if len(msg) > 0 {
			sig[3] ^= 1
			msg[0] ^= 1
			if signing.Verify(pub, msg, sig) == nil {
				t.Fatal("a changed message verified")
			}
		}
	}
}

func openssl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is needed to check signatures as auditors do: install it (apt-get install openssl)")
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	return string(out), err
}

// Auditors check signatures with openssl, and openssl's keys work here.
func TestOpenSSLInterop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	privPath, pubPath := keys(t)
	priv, _ := signing.LoadPrivateKey(privPath)
	msg := filepath.Join(dir, "manifest.json")
	_ = os.WriteFile(msg, []byte("{\"format\": \"x\"}\n"), 0o644)
	data, _ := os.ReadFile(msg)
	if err := signing.WriteSignature(msg+".sig", signing.Sign(priv, data)); err != nil {
		t.Fatal(err)
	}
	out, err := openssl(t, "pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin", "-in", msg, "-sigfile", msg+".sig")
	if err != nil || !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("openssl rejects our signature: %v %s", err, out)
	}
	_ = os.WriteFile(msg, []byte("{\"format\": \"y\"}\n"), 0o644)
	if out, err := openssl(t, "pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin", "-in", msg, "-sigfile", msg+".sig"); err == nil {
		t.Fatalf("openssl accepted a tampered file: %s", out)
	}

	k, kpub := filepath.Join(dir, "k.pem"), filepath.Join(dir, "k.pub")
	for _, args := range [][]string{{"genpkey", "-algorithm", "ed25519", "-out", k}, {"pkey", "-in", k, "-pubout", "-out", kpub}} {
		if out, err := openssl(t, args...); err != nil {
			t.Fatalf("openssl %v: %v %s", args, err, out)
		}
	}
	_ = os.Chmod(k, 0o600)
	if _, err := signing.LoadPrivateKey(k); err != nil {
		t.Fatalf("openssl's private key: %v", err)
	}
	opub, err := signing.LoadPublicKey(kpub)
	if err != nil {
		t.Fatalf("openssl's public key: %v", err)
	}
	if out, err := openssl(t, "pkeyutl", "-sign", "-inkey", k, "-rawin", "-in", msg, "-out", msg+".osig"); err != nil {
		t.Fatalf("openssl sign: %v %s", err, out)
	}
	osig, _ := os.ReadFile(msg + ".osig")
	data, _ = os.ReadFile(msg)
	if err := signing.Verify(opub, data, osig); err != nil {
		t.Fatalf("openssl's signature: %v", err)
	}
}

// Unusable keys fail with ErrBadKey and never echo key material.
func TestBadKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	privPath, pubPath := keys(t)
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	der, _ := x509.MarshalPKCS8PrivateKey(rk)
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, data, mode)
		_ = os.Chmod(p, mode)
		return p
	}
	loose, _ := os.ReadFile(privPath)
	for name, load := range map[string]func() error{
		"missing":           func() error { _, err := signing.LoadPrivateKey(filepath.Join(dir, "none")); return err },
		"not pem":           func() error { _, err := signing.LoadPrivateKey(write("x.key", []byte("hello"), 0o600)); return err },
		"rsa":               func() error { _, err := signing.LoadPrivateKey(write("rsa.key", rsaPEM, 0o600)); return err },
		"public as private": func() error { _, err := signing.LoadPrivateKey(pubPath); return err },
		"private as public": func() error { _, err := signing.LoadPublicKey(write("p.key", loose, 0o600)); return err },
		"readable by all":   func() error { _, err := signing.LoadPrivateKey(write("loose.key", loose, 0o644)); return err },
	} {
		err := load()
		if !errors.Is(err, signing.ErrBadKey) {
			t.Errorf("%s: %v, want ErrBadKey", name, err)
			continue
		}
		if strings.Contains(err.Error(), "MC4CAQAw") || strings.Contains(err.Error(), string(rsaPEM[40:60])) {
			t.Errorf("%s: the error shows key material: %v", name, err)
		}
	}
}
