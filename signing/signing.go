// Package signing holds the archive's Ed25519 keys and signatures: export
// manifests and checkpoints are signed with them. Keys are PEM files, PKCS#8
// for the private key and PKIX for the public one, and a signature is the raw
// 64-byte Ed25519 signature of a file's exact bytes, so an auditor checks it
// with openssl alone:
//
//	openssl pkeyutl -verify -pubin -inkey archive.pub -rawin -in manifest.json -sigfile manifest.json.sig
package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// ErrBadKey is wrapped by every key-loading error, so callers can treat a
// bad key as a mistake in how they were called.
var ErrBadKey = errors.New("unusable key")

// GenerateKeyFiles writes a new key pair to PREFIX.key (0600) and
// PREFIX.pub. Neither file may exist: keys are never overwritten.
func GenerateKeyFiles(prefix string) (privPath, pubPath string, err error) {
	privPath, pubPath = prefix+".key", prefix+".pub"
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("%s exists; choose another --out prefix (keys are never overwritten)", p)
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", fmt.Errorf("encode private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("encode public key: %w", err)
	}
	if err := writeNew(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return "", "", err
	}
	if err := writeNew(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		_ = os.Remove(privPath)
		return "", "", err
	}
	return privPath, pubPath, nil
}

// writeNew creates path exclusively with exactly mode (whatever the umask).
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w (files are never overwritten)", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// readPEM reads the single PEM block of a key file of the wanted type.
func readPEM(path, want string) (*pem.Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read %s: %v", ErrBadKey, path, errors.Unwrap(err))
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: %s holds no PEM block; the archive's keys are PEM files made by archiver keygen", ErrBadKey, path)
	}
	if block.Type != want {
		return nil, fmt.Errorf("%w: %s holds a %q PEM block, not %q", ErrBadKey, path, block.Type, want)
	}
	return block, nil
}

// LoadPrivateKey reads a PKCS#8 Ed25519 private key (archiver keygen's, or
// openssl genpkey -algorithm ed25519). Like ssh, it refuses a key file that
// others may read.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	st, err := os.Stat(path)
	if err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s may be read by others (mode %04o); chmod 600 it", ErrBadKey, path, st.Mode().Perm())
	}
	block, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not a PKCS#8 private key", ErrBadKey, path)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s is %s; the archive signs with Ed25519 (archiver keygen)", ErrBadKey, path, keyKind(key))
	}
	return priv, nil
}

// LoadPublicKey reads a PKIX Ed25519 public key.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	block, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not a PKIX public key", ErrBadKey, path)
	}
	pub, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s is %s; the archive signs with Ed25519 (archiver keygen)", ErrBadKey, path, keyKind(key))
	}
	return pub, nil
}

func keyKind(key any) string {
	switch key.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return "an RSA key"
	}
	return fmt.Sprintf("a %T key", key)
}

// Sign returns the raw 64-byte Ed25519 signature of message (pure Ed25519,
// no prehash, as openssl pkeyutl -rawin expects).
func Sign(key ed25519.PrivateKey, message []byte) []byte { return ed25519.Sign(key, message) }

// Verify checks a raw Ed25519 signature of message.
func Verify(pub ed25519.PublicKey, message, sig []byte) error {
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("the signature has %d bytes, an Ed25519 signature has %d", len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, message, sig) {
		return errors.New("the signature does not match this public key: the signed file was changed, or signed with another key")
	}
	return nil
}

// WriteSignature writes a raw signature to path, never overwriting.
func WriteSignature(path string, sig []byte) error { return writeNew(path, sig, 0o644) }
