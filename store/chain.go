package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
)

// GenesisHash is the prev_hash of the first event of every chain.
var GenesisHash = make([]byte, sha256.Size)

// ChainFields are the parts of an event covered by its hash. The global id is
// not among them (it is assigned by PostgreSQL at insert); order within a
// chain is instead fixed by prev_hash.
type ChainFields struct {
	TargetID   int64
	InvokeID   string
	InstanceID string
	Seq        int64
	Type       string
	FromStatus string
	ToStatus   string
	OccurredAt time.Time
	RecordedAt time.Time
	Evidence   string
	RunID      int64
	Detail     []byte // jsonb's text form, or nil
	Payload    []byte // jsonb's text form
}

// EventHash is SHA-256 over the previous hash and the event's canonical bytes.
// Each field is length-prefixed so that no two different events share bytes.
func EventHash(prev []byte, f ChainFields) []byte {
	h := sha256.New()
	h.Write(prev)
	var num [8]byte
	writeStr := func(s string) {
		binary.BigEndian.PutUint32(num[:4], uint32(len(s)))
		h.Write(num[:4])
		h.Write([]byte(s))
	}
	writeInt := func(v int64) {
		binary.BigEndian.PutUint64(num[:], uint64(v))
		h.Write(num[:])
	}
	writeInt(f.TargetID)
	writeStr(f.InvokeID)
	writeStr(f.InstanceID)
	writeInt(f.Seq)
	writeStr(f.Type)
	writeStr(f.FromStatus)
	writeStr(f.ToStatus)
	writeInt(f.OccurredAt.UnixMicro())
	writeInt(f.RecordedAt.UnixMicro())
	writeStr(f.Evidence)
	writeInt(f.RunID)
	writeStr(string(f.Detail))
	writeStr(string(f.Payload))
	return h.Sum(nil)
}

// CanonicalJSON re-encodes a JSON document deterministically before it is
// stored: object keys sorted, no insignificant whitespace, numbers in
// PostgreSQL numeric's output form, and NUL characters (which jsonb cannot
// store) replaced by U+FFFD.
func CanonicalJSON(raw []byte) ([]byte, error) {
	if raw == nil {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	var buf bytes.Buffer
	if err := writeCanonical(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeCanonical(buf *bytes.Buffer, v any) error {
	switch t := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		if t {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case json.Number:
		n, err := model.CanonicalNumber(string(t))
		if err != nil {
			return fmt.Errorf("canonical json: %w", err)
		}
		buf.WriteString(n)
	case string:
		writeString(buf, t)
	case []any:
		buf.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeCanonical(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k)
			buf.WriteByte(':')
			if err := writeCanonical(buf, t[k]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		return fmt.Errorf("canonical json: unexpected %T", v)
	}
	return nil
}

func writeString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(model.StoredString(s)) // strings always marshal
	buf.Write(b)
}
