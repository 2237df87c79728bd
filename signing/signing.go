// Package signing holds the archive's Ed25519 keys and signatures: signed
// export manifests and checkpoints are signed with them. Keys are PEM files,
// PKCS#8 for the private key ("PRIVATE KEY") and PKIX for the public one
// ("PUBLIC KEY"), and a signature is the raw 64-byte Ed25519 signature of a
// file's exact bytes (pure Ed25519, no prehash). Those are the formats openssl
// speaks, so an auditor checks an export with openssl alone, without the
// archiver:
//
//	openssl pkeyutl -verify -pubin -inkey archive.pub -rawin -in manifest.json -sigfile manifest.json.sig
//
// and keys made by openssl (openssl genpkey -algorithm ed25519) work here.
package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrBadKey is wrapped by every key-loading error, so callers can treat a
// bad key as a mistake in how they were called (a usage error) rather than a
// failure of the archive.
var ErrBadKey = errors.New("unusable key")

// maxKeyFile bounds what a key loader reads: key files are a few hundred
// bytes, and a wrong path (an export, a database dump) must not be slurped.
const maxKeyFile = 64 << 10

// GenerateKeyFiles writes a new key pair to PREFIX.key (PKCS#8, mode 0600)
// and PREFIX.pub (PKIX, mode 0644). Keys are never overwritten, since
// replacing a key silently orphans every signature made with it: if either
// file exists nothing is written, and a half-written pair is removed.
func GenerateKeyFiles(prefix string) (privPath, pubPath string, err error) {
	if prefix == "" || strings.HasSuffix(prefix, string(filepath.Separator)) || strings.HasSuffix(prefix, "/") {
		return "", "", fmt.Errorf("key prefix %q names no file; give a prefix such as keys/archive", prefix)
	}
	privPath, pubPath = prefix+".key", prefix+".pub"
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", existsError(p)
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate an Ed25519 key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", fmt.Errorf("encode the private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("encode the public key: %w", err)
	}
	if err := writeNew(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return "", "", keygenError(privPath, err)
	}
	if err := writeNew(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		_ = os.Remove(privPath) // a private key without its public half is useless
		return "", "", keygenError(pubPath, err)
	}
	return privPath, pubPath, nil
}

// existsError is the keygen refusal: it names the file and the way out.
func existsError(path string) error {
	return exists(path + " exists; choose another --out prefix (keys are never overwritten)")
}

// exists is a refusal to overwrite: its message says so in the archiver's
// words, and errors.Is(err, fs.ErrExist) still holds for callers.
type exists string

func (e exists) Error() string { return string(e) }
func (e exists) Unwrap() error { return fs.ErrExist }

// keygenError rewords a lost O_EXCL race as the usual refusal.
func keygenError(path string, err error) error {
	if errors.Is(err, fs.ErrExist) {
		return existsError(path)
	}
	return err
}

// writeNew creates path exclusively (O_EXCL: the archiver never overwrites a
// file) with exactly mode whatever the umask, and removes it again if the
// write fails, so no partial key or signature is left behind.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return exists(path + " already exists and the archiver never overwrites files")
	}
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, cause(err))
	}
	err = f.Chmod(mode) // the umask may have narrowed the mode OpenFile set
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("cannot write %s: %w", path, cause(err))
	}
	return nil
}

// cause drops the *fs.PathError wrapper whose message repeats the path our
// own message already names; errors.Is still sees the errno.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// badKey builds a key-loading error: one sentence naming the file, wrapping
// ErrBadKey. Callers pass descriptions only, never key bytes.
func badKey(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrBadKey, path, fmt.Sprintf(format, args...))
}

// readKeyFile reads a key file and its permission bits in one open, so the
// mode checked is the mode of the file read.
func readKeyFile(path string) ([]byte, fs.FileMode, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, badKey(path, "cannot be read: %v", cause(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, badKey(path, "cannot be read: %v", cause(err))
	}
	if st.IsDir() {
		return nil, 0, badKey(path, "is a directory, not a key file")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, 0, badKey(path, "cannot be read: %v", cause(err))
	}
	if len(data) > maxKeyFile {
		return nil, 0, badKey(path, "is larger than %d KiB, too large to be a key file", maxKeyFile>>10)
	}
	return data, st.Mode().Perm(), nil
}

// blockHints explains PEM block types people hand us by mistake, so the
// error says what the file is rather than only what it is not.
var blockHints = map[string]string{
	"RSA PRIVATE KEY":       "is an RSA key; the archive signs with Ed25519 (archiver keygen)",
	"RSA PUBLIC KEY":        "is an RSA key; the archive signs with Ed25519 (archiver keygen)",
	"EC PRIVATE KEY":        "is an EC key; the archive signs with Ed25519 (archiver keygen)",
	"DSA PRIVATE KEY":       "is a DSA key; the archive signs with Ed25519 (archiver keygen)",
	"OPENSSH PRIVATE KEY":   "is an OpenSSH key, not a PEM PKCS#8 key; make the archive's keys with archiver keygen",
	"ENCRYPTED PRIVATE KEY": "is encrypted; the archiver needs an unencrypted key (openssl pkey -in KEY -out PLAIN.key, then chmod 600 PLAIN.key)",
	"CERTIFICATE":           "is a certificate, not a key; give the PUBLIC KEY file made by archiver keygen",
}

// decodeKeyPEM finds the one PEM block of a key file and checks its type,
// naming a public key given as private (and vice versa) explicitly because
// that is the likeliest mix-up with a PREFIX.key/PREFIX.pub pair.
func decodeKeyPEM(path string, data []byte, want string) (*pem.Block, error) {
	block, _ := pem.Decode(data)
	switch {
	case block == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("ssh-")):
		return nil, badKey(path, "is an OpenSSH public key, not a PEM PKIX key; use the .pub file made by archiver keygen")
	case block == nil:
		return nil, badKey(path, "holds no PEM block; the archive's keys are PEM files made by archiver keygen")
	case block.Type == want:
		return block, nil
	case block.Type == "PUBLIC KEY":
		return nil, badKey(path, "is a public key; give the private key (the .key file made by archiver keygen)")
	case block.Type == "PRIVATE KEY":
		return nil, badKey(path, "is a private key; give the public key (the .pub file), and keep the private key away from auditors")
	case blockHints[block.Type] != "":
		return nil, badKey(path, "%s", blockHints[block.Type])
	}
	return nil, badKey(path, "holds a %q PEM block, not a %q one", block.Type, want)
}

// LoadPrivateKey reads a PEM PKCS#8 Ed25519 private key: archiver keygen's,
// or one made by openssl genpkey -algorithm ed25519. Like ssh, it refuses a
// key file that group or others may read, since a key others can read can no
// longer vouch for the archive. Errors wrap ErrBadKey and never show key bytes.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, perm, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	block, err := decodeKeyPEM(path, data, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	// Windows has no Unix permission bits (Go reports 0666 for every file).
	if runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, badKey(path, "may be read by group or others (mode %04o); chmod 600 it, as ssh requires of its keys", perm)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if priv, ok := key.(ed25519.PrivateKey); err == nil && ok {
		return priv, nil
	}
	return nil, wrongAlgorithm(path, pkcs8Algorithm(block.Bytes), "not a PKCS#8 private key")
}

// LoadPublicKey reads a PEM PKIX Ed25519 public key: archiver keygen's, or
// openssl pkey -pubout's. Errors wrap ErrBadKey and never show key bytes.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	data, _, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	block, err := decodeKeyPEM(path, data, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if pub, ok := key.(ed25519.PublicKey); err == nil && ok {
		return pub, nil
	}
	return nil, wrongAlgorithm(path, pkixAlgorithm(block.Bytes), "not a PKIX public key")
}

// wrongAlgorithm explains a key that did not parse as Ed25519, by the
// algorithm its DER names: Go's parser rejects some algorithms (Ed448,
// RSA-PSS) outright, and "not PKCS#8" would mislead about those.
func wrongAlgorithm(path string, oid asn1.ObjectIdentifier, notFormat string) error {
	if oid == nil {
		return badKey(path, "is %s; the archive's keys are made by archiver keygen or openssl genpkey -algorithm ed25519", notFormat)
	}
	name, known := algorithmNames[oid.String()]
	switch {
	case oid.String() == oidEd25519:
		return badKey(path, "holds a damaged Ed25519 key; restore it from a backup or make a new pair with archiver keygen")
	case !known:
		name = fmt.Sprintf("a key of another algorithm (OID %s)", oid)
	}
	return badKey(path, "is %s; the archive signs with Ed25519 (archiver keygen)", name)
}

const oidEd25519 = "1.3.101.112"

// algorithmNames names the key algorithms one is likely to meet in PEM files.
var algorithmNames = map[string]string{
	"1.2.840.113549.1.1.1":  "an RSA key",
	"1.2.840.113549.1.1.10": "an RSA-PSS key",
	"1.2.840.10045.2.1":     "an EC key",
	"1.2.840.10040.4.1":     "a DSA key",
	"1.3.101.110":           "an X25519 key",
	"1.3.101.111":           "an X448 key",
	"1.3.101.113":           "an Ed448 key",
	"1.2.156.10197.1.301":   "an SM2 key",
}

// pkcs8Algorithm returns the algorithm OID of a PKCS#8 structure, or nil if
// der is not one. Trailing optional fields are ignored by encoding/asn1.
func pkcs8Algorithm(der []byte) asn1.ObjectIdentifier {
	var p struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	if _, err := asn1.Unmarshal(der, &p); err != nil {
		return nil
	}
	return p.Algorithm.Algorithm
}

// pkixAlgorithm returns the algorithm OID of a SubjectPublicKeyInfo, or nil.
func pkixAlgorithm(der []byte) asn1.ObjectIdentifier {
	var p struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &p); err != nil {
		return nil
	}
	return p.Algorithm.Algorithm
}

// Sign returns the raw 64-byte Ed25519 signature of message's exact bytes:
// pure Ed25519, no prehash, which is what openssl pkeyutl -rawin checks. It
// panics if key is not a 64-byte Ed25519 private key; keys from
// LoadPrivateKey always are.
func Sign(key ed25519.PrivateKey, message []byte) []byte {
	return ed25519.Sign(key, message)
}

// Verify checks a raw Ed25519 signature of message against pub. The error
// says which check failed, so a failed verification points at a changed
// file or the wrong key rather than at the archiver.
func Verify(pub ed25519.PublicKey, message, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		// ed25519.Verify would panic; a zero key is a caller's slip.
		return fmt.Errorf("the public key has %d bytes, an Ed25519 public key has %d", len(pub), ed25519.PublicKeySize)
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("the signature has %d bytes, an Ed25519 signature has %d", len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, message, sig) {
		return errors.New("the signature does not match this public key: the signed file was changed, or was signed with another key")
	}
	return nil
}

// WriteSignature writes a raw signature to path (mode 0644, readable by the
// auditors it is for). It never overwrites: an existing signature belongs to
// a document already handed out. The error wraps fs.ErrExist in that case.
func WriteSignature(path string, sig []byte) error {
	return writeNew(path, sig, 0o644)
}
