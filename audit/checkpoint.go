package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cloudassistant/sendfile-archive/signing"
	"github.com/cloudassistant/sendfile-archive/store"
)

// MakeCheckpoint renders every target's live chain head as a checkpoint,
// signs it when key is set, records it in the archive, and writes it to
// path (and path.sig) when path is not empty. Files are never overwritten.
func MakeCheckpoint(ctx context.Context, st *store.Store, path string, key ed25519.PrivateKey, now time.Time) ([]byte, error) {
	heads, err := st.ChainHeads(ctx)
	if err != nil {
		return nil, err
	}
	cp := Checkpoint{Format: CheckpointFormat, CreatedAt: FormatTime(now), Chains: chainEntries(heads)}
	doc, err := marshalDocument(cp)
	if err != nil {
		return nil, err
	}
	var sig []byte
	if key != nil {
		sig = signing.Sign(key, doc)
	}
	if path != "" {
		if err := writeExclusive(path, doc, 0o644); err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		if sig != nil {
			if err := signing.WriteSignature(path+".sig", sig); err != nil {
				return nil, fmt.Errorf("checkpoint: %w", err)
			}
		}
	}
	if err := st.RecordCheckpoint(ctx, now.UTC(), doc, sig); err != nil {
		return nil, err
	}
	return doc, nil
}

// ReadCheckpoint reads a checkpoint file. With pub, its signature (path.sig)
// must verify.
func ReadCheckpoint(path string, pub ed25519.PublicKey) (Checkpoint, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("read checkpoint: %w", err)
	}
	var cp Checkpoint
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cp); err != nil || cp.Format != CheckpointFormat {
		return Checkpoint{}, fmt.Errorf("%s is not a %s document", path, CheckpointFormat)
	}
	if pub != nil {
		sig, err := os.ReadFile(path + ".sig")
		if err != nil {
			return Checkpoint{}, &Mismatch{What: fmt.Sprintf("checkpoint %s has no signature file %s.sig", path, path)}
		}
		if err := signing.Verify(pub, doc, sig); err != nil {
			return Checkpoint{}, &Mismatch{What: fmt.Sprintf("checkpoint %s: %v", path, err)}
		}
	}
	return cp, nil
}

// Mismatch is a verification failure: the archive or an export is not what
// a checkpoint, manifest, hash or signature says it was.
type Mismatch struct{ What string }

func (m *Mismatch) Error() string { return m.What }

// IsMismatch reports whether err is (or wraps) a Mismatch.
func IsMismatch(err error) bool {
	var m *Mismatch
	return errors.As(err, &m)
}

// VerifyCheckpoint proves that every chain of the live archive still
// extends the checkpoint: the event at each checkpointed length still has
// the checkpointed head. A chain rewritten from any earlier position fails,
// however consistently its later hashes were recomputed. It returns a
// Mismatch naming the first chain and position that no longer match.
func VerifyCheckpoint(ctx context.Context, st *store.Store, name string, cp Checkpoint) error {
	return st.ReadSnapshot(ctx, func(s *store.Snapshot) error {
		for _, c := range cp.Chains {
			if c.Length == 0 {
				continue
			}
			e, err := s.EventAt(ctx, c.TargetID, c.Length)
			if errors.Is(err, store.ErrNotFound) {
				return &Mismatch{What: fmt.Sprintf("checkpoint %s (created %s): target %d (%s/%s/%s) no longer has an event at position %d: the chain was cut or rewritten",
					name, cp.CreatedAt, c.TargetID, c.Account, c.Region, c.Source, c.Length)}
			}
			if err != nil {
				return err
			}
			if hex.EncodeToString(e.Hash) != c.Head {
				return &Mismatch{What: fmt.Sprintf("checkpoint %s (created %s): target %d (%s/%s/%s): the event at position %d no longer has the checkpointed hash: the chain was rewritten at or before position %d",
					name, cp.CreatedAt, c.TargetID, c.Account, c.Region, c.Source, c.Length, c.Length)}
			}
		}
		return nil
	})
}
