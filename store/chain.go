package store

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
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
