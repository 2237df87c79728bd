package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/cloudassistant/sendfile-archive/signing"
	"github.com/cloudassistant/sendfile-archive/store"
)

// VerifyOptions describe a verification of an export.
type VerifyOptions struct {
	Dir       string
	PublicKey ed25519.PublicKey // nil: the signature is not checked
	// AgainstDB, when set, also checks the export against the live archive.
	AgainstDB *store.Store
}

// ExportReport is what a verification found when everything checked out.
type ExportReport struct {
	Files          int
	Events         int64
	Rows           int64
	SignatureState string // "verified", "present but not checked", "none"
	AgainstDB      bool
}

// VerifyExport checks an export offline (DESIGN.md §10.2): the manifest's
// signature (with a public key), every file's bytes, SHA-256 and row count,
// that no data file is unlisted, that every event re-hashes to its hash, that
// events at consecutive chain positions link, and that the events agree with
// the manifest's chain heads. With AgainstDB it also checks that the live
// archive still holds every exported event at the same position with the
// same hash, and that each manifest chain head still lies on the live chain.
// The first problem is returned as a *Mismatch.
func VerifyExport(ctx context.Context, o VerifyOptions) (ExportReport, error) {
	var rep ExportReport
	m, err := readManifest(o.Dir, o.PublicKey, &rep)
	if err != nil {
		return rep, err
	}
	if err := checkListing(o.Dir, m); err != nil {
		return rep, err
	}
	chains := newChainCheck(m)
	for _, f := range m.Files {
		n, err := checkFile(o.Dir, f, chains)
		if err != nil {
			return rep, err
		}
		rep.Files++
		rep.Rows += n
	}
	rep.Events = chains.events
	if o.AgainstDB != nil {
		if err := checkAgainstDB(ctx, o.AgainstDB, o.Dir, m); err != nil {
			return rep, err
		}
		rep.AgainstDB = true
	}
	return rep, nil
}

// readManifest reads and parses manifest.json, checking its signature when
// a public key is given.
func readManifest(dir string, pub ed25519.PublicKey, rep *ExportReport) (Manifest, error) {
	doc, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return Manifest{}, &Mismatch{What: fmt.Sprintf("%s has no readable manifest.json (an export that did not finish has none): %v", dir, err)}
	}
	sig, sigErr := os.ReadFile(filepath.Join(dir, "manifest.json.sig"))
	rep.SignatureState = "none"
	switch {
	case pub != nil && sigErr != nil:
		return Manifest{}, &Mismatch{What: "manifest.json is not signed (no manifest.json.sig), but a public key was given"}
	case pub != nil:
		if err := signing.Verify(pub, doc, sig); err != nil {
			return Manifest{}, &Mismatch{What: "manifest.json.sig: " + err.Error()}
		}
		rep.SignatureState = "verified"
	case sigErr == nil:
		rep.SignatureState = "present but not checked (no --public-key)"
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || m.Format != ManifestFormat {
		return Manifest{}, &Mismatch{What: fmt.Sprintf("manifest.json is not a %s document", ManifestFormat)}
	}
	return m, nil
}

// checkListing insists that every file in the export is the manifest, its
// signature, or a listed data file, and that listed names stay inside it.
func checkListing(dir string, m Manifest) error {
	listed := map[string]bool{"manifest.json": true, "manifest.json.sig": true}
	for _, f := range m.Files {
		clean := path.Clean(f.Name)
		if clean != f.Name || path.IsAbs(clean) || strings.HasPrefix(clean, "../") || clean == ".." {
			return &Mismatch{What: fmt.Sprintf("manifest.json lists %q, which is not a plain path inside the export", f.Name)}
		}
		if _, err := ParseFormat(strings.TrimPrefix(path.Ext(f.Name), ".")); err != nil || path.Ext(f.Name) != "."+string(f.Format) {
			return &Mismatch{What: fmt.Sprintf("manifest.json lists %s as %s", f.Name, f.Format)}
		}
		listed[f.Name] = true
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if !listed[filepath.ToSlash(rel)] {
			return &Mismatch{What: fmt.Sprintf("%s is in the export but not in manifest.json", filepath.ToSlash(rel))}
		}
		return nil
	})
}

// checkFile checks one listed file's bytes, hash and rows; event rows go
// through the chain checks.
func checkFile(dir string, f FileEntry, chains *chainCheck) (int64, error) {
	p := filepath.Join(dir, filepath.FromSlash(f.Name))
	sum, n, err := fileSHA256(p)
	switch {
	case err != nil:
		return 0, &Mismatch{What: fmt.Sprintf("%s is listed in manifest.json but cannot be read: %v", f.Name, err)}
	case n != f.Bytes:
		return 0, &Mismatch{What: fmt.Sprintf("%s has %d bytes, manifest.json says %d", f.Name, n, f.Bytes)}
	case sum != f.SHA256:
		return 0, &Mismatch{What: fmt.Sprintf("%s has SHA-256 %s, manifest.json says %s", f.Name, sum, f.SHA256)}
	}
	var rows int64
	switch path.Base(strings.TrimSuffix(f.Name, path.Ext(f.Name))) {
	case "events":
		err = ReadRows(f.Format, p, func(r *EventRow) error { rows++; return chains.add(f.Name, rows, r) })
	case "sends":
		err = ReadRows(f.Format, p, func(*SendRow) error { rows++; return nil })
	case "instances":
		err = ReadRows(f.Format, p, func(*InstanceRow) error { rows++; return nil })
	case "contents":
		err = ReadRows(f.Format, p, func(c *ContentRow) error { rows++; return checkContent(f.Name, rows, c) })
	default:
		return 0, &Mismatch{What: fmt.Sprintf("manifest.json lists %s, which is none of events, sends, instances, contents", f.Name)}
	}
	if err != nil {
		if IsMismatch(err) {
			return 0, err
		}
		return 0, &Mismatch{What: fmt.Sprintf("%s cannot be read as %s: %v", f.Name, f.Format, err)}
	}
	if rows != f.Rows {
		return 0, &Mismatch{What: fmt.Sprintf("%s has %d rows, manifest.json says %d", f.Name, rows, f.Rows)}
	}
	return rows, nil
}

// checkContent checks that a body hashes to its SHA-256 (bodies stored with
// U+FFFD in place of NUL cannot, and are let through).
func checkContent(file string, row int64, c *ContentRow) error {
	sum := sha256.Sum256([]byte(c.Content))
	if hex.EncodeToString(sum[:]) != c.SHA256 && !strings.ContainsRune(c.Content, '\uFFFD') {
		return &Mismatch{What: fmt.Sprintf("%s row %d: the content does not hash to its sha256 %s", file, row, c.SHA256)}
	}
	return nil
}

// linkKey names a chain position.
type linkKey struct{ target, position int64 }

// chainCheck checks event rows as they stream by: each re-hashes to its
// hash, and every pair of exported rows at consecutive positions of a chain
// links, checked when the second of the pair arrives. Rows normally arrive
// in chain order, so the maps hold about one entry per chain.
type chainCheck struct {
	heads   map[int64]ChainEntry
	hashOf  map[linkKey]string // rows whose successor has not been seen: their hash
	wantPrv map[linkKey]string // rows whose predecessor has not been seen: the hash it must have
	events  int64
}

func newChainCheck(m Manifest) *chainCheck {
	c := &chainCheck{heads: map[int64]ChainEntry{}, hashOf: map[linkKey]string{}, wantPrv: map[linkKey]string{}}
	for _, h := range m.Chains {
		c.heads[h.TargetID] = h
	}
	return c
}

func (c *chainCheck) add(file string, row int64, r *EventRow) error {
	c.events++
	where := fmt.Sprintf("%s row %d (target %d, position %d)", file, row, r.TargetID, r.ChainPosition)
	head, ok := c.heads[r.TargetID]
	switch {
	case !ok:
		return &Mismatch{What: where + ": its target is not among manifest.json's chains"}
	case r.ChainPosition < 1 || r.ChainPosition > head.Length:
		return &Mismatch{What: fmt.Sprintf("%s: position outside the chain of %d events manifest.json records", where, head.Length)}
	}
	sum, err := r.rehash()
	if err != nil {
		return &Mismatch{What: where + ": " + err.Error()}
	}
	if sum != r.Hash {
		return &Mismatch{What: where + ": its fields do not re-hash to its hash: the event was altered"}
	}
	if r.ChainPosition == 1 && r.PrevHash != hex.EncodeToString(store.GenesisHash) {
		return &Mismatch{What: where + ": the first event of a chain must have a prev_hash of 32 zero bytes"}
	}
	if r.ChainPosition == head.Length && r.Hash != head.Head {
		return &Mismatch{What: where + ": the chain's last event does not have the head manifest.json records"}
	}
	return c.link(where, r)
}

// link checks r against its neighbours in the chain, now or when they come.
func (c *chainCheck) link(where string, r *EventRow) error {
	key := linkKey{r.TargetID, r.ChainPosition}
	prev := linkKey{r.TargetID, r.ChainPosition - 1}
	if h, ok := c.hashOf[prev]; ok {
		delete(c.hashOf, prev)
		if h != r.PrevHash {
			return &Mismatch{What: where + ": its prev_hash is not the hash of the event before it: an event was removed, inserted or moved"}
		}
	} else if r.ChainPosition > 1 {
		c.wantPrv[prev] = r.PrevHash
	}
	if want, ok := c.wantPrv[key]; ok {
		delete(c.wantPrv, key)
		if want != r.Hash {
			return &Mismatch{What: where + ": the next event's prev_hash is not this event's hash: an event was removed, inserted or moved"}
		}
	} else {
		c.hashOf[key] = r.Hash
	}
	return nil
}

// checkAgainstDB checks the export against the live archive.
func checkAgainstDB(ctx context.Context, st *store.Store, dir string, m Manifest) error {
	return st.ReadSnapshot(ctx, func(s *store.Snapshot) error {
		for _, f := range m.Files {
			if path.Base(strings.TrimSuffix(f.Name, path.Ext(f.Name))) != "events" {
				continue
			}
			if err := checkFileAgainstDB(ctx, s, filepath.Join(dir, filepath.FromSlash(f.Name)), f); err != nil {
				return err
			}
		}
		for _, h := range m.Chains {
			if h.Length == 0 {
				continue
			}
			e, err := s.EventAt(ctx, h.TargetID, h.Length)
			if err != nil || hex.EncodeToString(e.Hash) != h.Head {
				return &Mismatch{What: fmt.Sprintf("target %d: the live chain no longer has manifest.json's head at position %d", h.TargetID, h.Length)}
			}
		}
		return nil
	})
}

func checkFileAgainstDB(ctx context.Context, s *store.Snapshot, p string, f FileEntry) error {
	const batch = 2000
	refs := make([]store.EventRef, 0, batch)
	check := func() error {
		missing, err := s.MissingEvents(ctx, refs)
		if err != nil {
			return err
		}
		refs = refs[:0]
		if len(missing) > 0 {
			return &Mismatch{What: fmt.Sprintf("%s: the live archive has no event with this hash at target %d position %d",
				f.Name, missing[0].TargetID, missing[0].Position)}
		}
		return nil
	}
	err := ReadRows(f.Format, p, func(r *EventRow) error {
		h, err := hex.DecodeString(r.Hash)
		if err != nil {
			return &Mismatch{What: fmt.Sprintf("%s: hash %q is not hex", f.Name, r.Hash)}
		}
		refs = append(refs, store.EventRef{TargetID: r.TargetID, Position: r.ChainPosition, Hash: h})
		if len(refs) == batch {
			return check()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return check()
}
