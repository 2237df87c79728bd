package signing_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cloudassistant/sendfile-archive/signing"
)

// keys generates a key pair under a fresh temporary directory.
func keys(t *testing.T) (privPath, pubPath string) {
	t.Helper()
	privPath, pubPath, err := signing.GenerateKeyFiles(filepath.Join(t.TempDir(), "archive"))
	if err != nil {
		t.Fatal(err)
	}
	return privPath, pubPath
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("%s: mode %04o, want %04o", path, got, want)
	}
}

// Key files are PEM of the right types and modes, and are never overwritten.
func TestGenerateKeyFiles(t *testing.T) {
	t.Parallel()
	prefix := filepath.Join(t.TempDir(), "archive")
	privPath, pubPath, err := signing.GenerateKeyFiles(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if privPath != prefix+".key" || pubPath != prefix+".pub" {
		t.Fatalf("paths %s, %s; want PREFIX.key, PREFIX.pub", privPath, pubPath)
	}
	if runtime.GOOS != "windows" {
		checkMode(t, privPath, 0o600)
		checkMode(t, pubPath, 0o644)
	}
	privPEM, pubPEM := readFile(t, privPath), readFile(t, pubPath)
	for _, f := range []struct {
		data []byte
		want string
	}{{privPEM, "PRIVATE KEY"}, {pubPEM, "PUBLIC KEY"}} {
		if b, rest := pem.Decode(f.data); b == nil || b.Type != f.want || len(rest) != 0 {
			t.Errorf("want exactly one %q PEM block", f.want)
		}
	}
	priv, err := signing.LoadPrivateKey(privPath)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signing.LoadPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("the .pub file is not the public half of the .key file")
	}

	_, _, err = signing.GenerateKeyFiles(prefix)
	if err == nil {
		t.Fatal("generating over existing keys succeeded")
	}
	if !strings.Contains(err.Error(), privPath) || !strings.Contains(err.Error(), "choose another --out prefix") {
		t.Errorf("the refusal should name %s and the way out: %v", privPath, err)
	}
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("the refusal should wrap fs.ErrExist: %v", err)
	}
	if !bytes.Equal(privPEM, readFile(t, privPath)) || !bytes.Equal(pubPEM, readFile(t, pubPath)) {
		t.Fatal("a refused keygen changed the existing key files")
	}
}

// When only the public half exists, keygen refuses without writing the
// private half, so nothing is left that does not match.
func TestGenerateKeyFilesPartial(t *testing.T) {
	t.Parallel()
	prefix := filepath.Join(t.TempDir(), "archive")
	if err := os.WriteFile(prefix+".pub", []byte("someone else's"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := signing.GenerateKeyFiles(prefix)
	if err == nil || !strings.Contains(err.Error(), prefix+".pub") {
		t.Fatalf("want a refusal naming %s.pub, got %v", prefix, err)
	}
	if _, err := os.Lstat(prefix + ".key"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a refused keygen wrote %s.key (%v)", prefix, err)
	}
	if got := string(readFile(t, prefix+".pub")); got != "someone else's" {
		t.Fatalf("a refused keygen changed %s.pub", prefix)
	}
	if _, _, err := signing.GenerateKeyFiles(t.TempDir() + string(filepath.Separator)); err == nil {
		t.Fatal("a prefix naming a directory was accepted")
	}
}

// umaskEnv makes the test binary, re-run under a restrictive umask by
// TestModesIgnoreUmask, write key and signature files into the named
// directory instead of testing.
const umaskEnv = "SIGNING_TEST_UMASK_DIR"

// File modes are exact whatever the umask: under umask 0277 a plain create
// would give 0400 for both files, which would break chmod-based audits of
// the key and make the .pub and .sig unreadable to auditors.
func TestModesIgnoreUmask(t *testing.T) {
	if dir := os.Getenv(umaskEnv); dir != "" { // the child
		if _, _, err := signing.GenerateKeyFiles(filepath.Join(dir, "archive")); err != nil {
			t.Fatal(err)
		}
		if err := signing.WriteSignature(filepath.Join(dir, "doc.sig"), make([]byte, 64)); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no umask on windows")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("sh is needed to run the test binary under another umask: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(sh, "-c", `umask 0277 && exec "$0" -test.run='^TestModesIgnoreUmask$' -test.count=1`, exe)
	cmd.Env = append(os.Environ(), umaskEnv+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child under umask 0277: %v\n%s", err, out)
	}
	checkMode(t, filepath.Join(dir, "archive.key"), 0o600)
	checkMode(t, filepath.Join(dir, "archive.pub"), 0o644)
	checkMode(t, filepath.Join(dir, "doc.sig"), 0o644)
}

// Signatures round-trip, and any change to message, signature or key
// breaks them.
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
	_, otherPubPath := keys(t)
	other, err := signing.LoadPublicKey(otherPubPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 1, 63, 4096, 1 << 20} {
		msg := make([]byte, size)
		if _, err := rand.Read(msg); err != nil {
			t.Fatal(err)
		}
		sig := signing.Sign(priv, msg)
		if len(sig) != 64 {
			t.Fatalf("%d-byte message: a %d-byte signature, want 64", size, len(sig))
		}
		if err := signing.Verify(pub, msg, sig); err != nil {
			t.Fatalf("%d-byte message: honest signature: %v", size, err)
		}
		if err := signing.Verify(other, msg, sig); err == nil || !strings.Contains(err.Error(), "does not match this public key") {
			t.Fatalf("%d-byte message: another key: %v", size, err)
		}
		for _, bit := range []int{0, 8*len(sig) - 1, 8 * (size % 64)} {
			bad := bytes.Clone(sig)
			bad[bit/8] ^= 1 << (bit % 8)
			if signing.Verify(pub, msg, bad) == nil {
				t.Fatalf("%d-byte message: signature bit %d flipped and it verified", size, bit)
			}
		}
		if size > 0 {
			bad := bytes.Clone(msg)
			bad[size/2] ^= 0x10
			if signing.Verify(pub, bad, sig) == nil {
				t.Fatalf("%d-byte message: a flipped message bit verified", size)
			}
		}
		for _, bad := range [][]byte{nil, sig[:63], append(bytes.Clone(sig), 0)} {
			if err := signing.Verify(pub, msg, bad); err == nil || !strings.Contains(err.Error(), "bytes") {
				t.Fatalf("a %d-byte signature: %v, want a length error", len(bad), err)
			}
		}
	}
	if err := signing.Verify(nil, []byte("x"), make([]byte, 64)); err == nil {
		t.Fatal("a missing public key verified")
	}
}

// Signatures are written raw and exclusively.
func TestWriteSignature(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "manifest.json.sig")
	sig := bytes.Repeat([]byte{7}, 64)
	if err := signing.WriteSignature(path, sig); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		checkMode(t, path, 0o644)
	}
	err := signing.WriteSignature(path, make([]byte, 64))
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("overwriting a signature: %v, want fs.ErrExist naming the path", err)
	}
	if !bytes.Equal(readFile(t, path), sig) {
		t.Fatal("a refused write changed the signature")
	}
}

// openssl runs openssl as an auditor would. Auditors check signatures with
// openssl, so a machine without it cannot show that they can: that fails.
func openssl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is needed to check signatures as auditors do; install OpenSSL 3 (apt-get install openssl)")
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	return string(out), err
}

// mustOpenSSL runs openssl and fails the test if it exits non-zero.
func mustOpenSSL(t *testing.T, args ...string) string {
	t.Helper()
	out, err := openssl(t, args...)
	if err != nil {
		version, _ := openssl(t, "version")
		t.Fatalf("openssl %s: %v\n%s(needs OpenSSL 3.0 or newer for -rawin; this is %s)", strings.Join(args, " "), err, out, strings.TrimSpace(version))
	}
	return out
}

// Auditors check our signatures with openssl, and openssl's keys and
// signatures work here.
func TestOpenSSLInterop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	privPath, pubPath := keys(t)
	priv, err := signing.LoadPrivateKey(privPath)
	if err != nil {
		t.Fatal(err)
	}
	msg := filepath.Join(dir, "manifest.json")
	doc := []byte("{\"format\": \"sendfile-archive-export/1\"}\n")
	if err := os.WriteFile(msg, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := signing.WriteSignature(msg+".sig", signing.Sign(priv, doc)); err != nil {
		t.Fatal(err)
	}

	// (a) openssl accepts our signature with our public key file.
	verify := []string{"pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin", "-in", msg, "-sigfile", msg + ".sig"}
	if out := mustOpenSSL(t, verify...); !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("openssl did not verify our signature:\n%s", out)
	}
	// openssl reads our private key file too, and derives the same public key.
	if out := mustOpenSSL(t, "pkey", "-in", privPath, "-pubout"); out != string(readFile(t, pubPath)) {
		t.Fatalf("openssl derives another public key from %s:\n%s", privPath, out)
	}

	// (b) a tampered message makes openssl fail.
	if err := os.WriteFile(msg, []byte("{\"format\": \"sendfile-archive-export/2\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := openssl(t, verify...)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("openssl accepted a tampered file (%v):\n%s", err, out)
	}

	// (c) openssl's keys load here, and openssl's signatures verify here.
	k, kpub := filepath.Join(dir, "k.pem"), filepath.Join(dir, "k.pub")
	mustOpenSSL(t, "genpkey", "-algorithm", "ed25519", "-out", k)
	mustOpenSSL(t, "pkey", "-in", k, "-pubout", "-out", kpub)
	if err := os.Chmod(k, 0o600); err != nil {
		t.Fatal(err)
	}
	okey, err := signing.LoadPrivateKey(k)
	if err != nil {
		t.Fatalf("openssl's private key: %v", err)
	}
	opub, err := signing.LoadPublicKey(kpub)
	if err != nil {
		t.Fatalf("openssl's public key: %v", err)
	}
	if !opub.Equal(okey.Public()) {
		t.Fatal("openssl's key files load as halves of different keys")
	}
	mustOpenSSL(t, "pkeyutl", "-sign", "-inkey", k, "-rawin", "-in", msg, "-out", msg+".osig")
	osig, data := readFile(t, msg+".osig"), readFile(t, msg)
	if err := signing.Verify(opub, data, osig); err != nil {
		t.Fatalf("openssl's signature: %v", err)
	}
	if !bytes.Equal(osig, signing.Sign(okey, data)) {
		t.Fatal("Ed25519 is deterministic, yet our signature with openssl's key differs from openssl's")
	}
}

// pemBody is the base64 text of a PEM file, the key material an error must
// never show.
func pemBody(data []byte) string {
	var body strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "-----") {
			body.WriteString(strings.TrimSpace(line))
		}
	}
	return body.String()
}

// Unusable keys fail with one error that wraps ErrBadKey, names the file,
// says what is wrong, and never echoes key material.
func TestBadKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	privPath, pubPath := keys(t)
	ours := readFile(t, privPath)
	encode := func(typ string, der []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaDER, err := x509.MarshalPKCS8PrivateKey(rk)
	rsaPKCS8 := encode("PRIVATE KEY", rsaDER, err)
	rsaPubDER, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	rsaPub := encode("PUBLIC KEY", rsaPubDER, err)
	ecDER, err := x509.MarshalPKCS8PrivateKey(ek)
	ecPKCS8 := encode("PRIVATE KEY", ecDER, err)

	private := func(p string) error { _, err := signing.LoadPrivateKey(p); return err }
	public := func(p string) error { _, err := signing.LoadPublicKey(p); return err }
	for _, c := range []struct {
		name string
		data []byte // nil: use path as is
		path string
		mode fs.FileMode
		load func(string) error
		want string
	}{
		{name: "missing private", path: filepath.Join(dir, "none.key"), load: private, want: "cannot be read"},
		{name: "missing public", path: filepath.Join(dir, "none.pub"), load: public, want: "cannot be read"},
		{name: "directory", path: dir, load: private, want: "is a directory"},
		{name: "not PEM", data: []byte("hello, not a key\n"), mode: 0o600, load: private, want: "holds no PEM block"},
		{name: "rsa PKCS#8", data: rsaPKCS8, mode: 0o600, load: private, want: "is an RSA key; the archive signs with Ed25519 (archiver keygen)"},
		{name: "rsa PKCS#1", data: encode("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk), nil), mode: 0o600, load: private, want: "is an RSA key"},
		{name: "rsa public", data: rsaPub, mode: 0o644, load: public, want: "is an RSA key"},
		{name: "ec PKCS#8", data: ecPKCS8, mode: 0o600, load: private, want: "is an EC key"},
		{name: "garbage DER", data: encode("PRIVATE KEY", []byte("not DER at all, just text"), nil), mode: 0o600, load: private, want: "not a PKCS#8 private key"},
		{name: "public as private", path: pubPath, load: private, want: "is a public key"},
		{name: "private as public", path: privPath, load: public, want: "is a private key"},
		{name: "readable by others", data: ours, mode: 0o644, load: private, want: "chmod 600"},
		{name: "readable by group", data: ours, mode: 0o640, load: private, want: "chmod 600"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.want == "chmod 600" && runtime.GOOS == "windows" {
				t.Skip("no Unix permission bits on windows")
			}
			path, data := c.path, c.data
			if data != nil {
				path = filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".pem")
				if err := os.WriteFile(path, data, c.mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, c.mode); err != nil {
					t.Fatal(err)
				}
			} else if st, err := os.Stat(path); err == nil && !st.IsDir() {
				data = readFile(t, path)
			}
			err := c.load(path)
			if !errors.Is(err, signing.ErrBadKey) {
				t.Fatalf("%v, want an error wrapping ErrBadKey", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, c.want) {
				t.Errorf("%q should name %s and say %q", msg, path, c.want)
			}
			for body, i := pemBody(data), 0; i+12 <= len(body); i++ {
				if strings.Contains(msg, body[i:i+12]) {
					t.Fatalf("the error shows key material: %q", msg)
				}
			}
		})
	}
}
