package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
)

// ErrNotEmpty means an export's directory already holds something: an
// export never mixes with or overwrites other files.
var ErrNotEmpty = errors.New("the export directory is not empty")

// prepareDir creates dir (and its parents) or accepts an existing empty one.
func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case err == nil && len(entries) > 0:
		return fmt.Errorf("%w: %s holds %d entries; choose a new or empty directory", ErrNotEmpty, dir, len(entries))
	case err == nil:
		return nil
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create export directory: %w", err)
		}
		return nil
	}
	return fmt.Errorf("read export directory: %w", err)
}

// outFile is one data file being written: created exclusively (never
// overwriting), counted and hashed as it is written.
type outFile struct {
	name  string // relative, forward slashes
	f     *os.File
	h     hash.Hash
	bytes int64
	rows  int64
}

func createOut(dir, name string) (*outFile, error) {
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	return &outFile{name: name, f: f, h: sha256.New()}, nil
}

func (o *outFile) Write(p []byte) (int, error) {
	n, err := o.f.Write(p)
	o.h.Write(p[:n])
	o.bytes += int64(n)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", o.name, err)
	}
	return n, nil
}

// finish syncs and closes the file and returns its manifest entry.
func (o *outFile) finish(format Format) (FileEntry, error) {
	if err := o.f.Sync(); err != nil {
		_ = o.f.Close()
		return FileEntry{}, fmt.Errorf("write %s: %w", o.name, err)
	}
	if err := o.f.Close(); err != nil {
		return FileEntry{}, fmt.Errorf("write %s: %w", o.name, err)
	}
	return FileEntry{Name: o.name, Format: format, Rows: o.rows, Bytes: o.bytes, SHA256: hex.EncodeToString(o.h.Sum(nil))}, nil
}

// writeExclusive writes data to path, never replacing an existing file: the
// bytes go to a temporary name first and are then linked into place, which
// fails if path exists, so a reader never sees a half-written document.
func writeExclusive(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = os.Link(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// fileSHA256 hashes a file and counts its bytes.
func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
