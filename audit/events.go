package audit

import (
	"encoding/hex"
	"fmt"
	"unsafe"

	"github.com/cloudassistant/sendfile-archive/store"
)

// eventRow renders a stored event as an export row.
func eventRow(t store.Target, e store.StoredEvent) EventRow {
	r := EventRow{
		ChainPosition: e.ChainPosition, Account: t.Account, Region: t.Region, Source: string(t.Source),
		TargetID: e.TargetID, InvokeID: e.InvokeID, InstanceID: optString(e.InstanceID), Seq: e.Seq,
		Type: string(e.Type), FromStatus: optString(string(e.FromStatus)), ToStatus: optString(string(e.ToStatus)),
		OccurredAt: e.OccurredAt.UTC(), RecordedAt: e.RecordedAt.UTC(), Evidence: string(e.Evidence),
		Payload: bytesAsString(e.Payload), PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
	}
	if e.RunID != 0 {
		id := e.RunID
		r.RunID = &id
	}
	if e.Detail != nil {
		d := bytesAsString(e.Detail)
		r.Detail = &d
	}
	return r
}

// bytesAsString views a scanned document as a string without copying it:
// the export's largest fields, copied once per event, were a tenth of its
// memory traffic. Safe because pgx gives every scanned slice memory of its
// own and nothing writes to a stored event's documents after the scan.
func bytesAsString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// chainFields are the hashed fields of an exported event (DESIGN.md §10.3):
// a null is the empty string, and 0 for run_id.
func (r *EventRow) chainFields() store.ChainFields {
	f := store.ChainFields{
		TargetID: r.TargetID, InvokeID: r.InvokeID, InstanceID: deref(r.InstanceID), Seq: r.Seq, Type: r.Type,
		FromStatus: deref(r.FromStatus), ToStatus: deref(r.ToStatus), OccurredAt: r.OccurredAt, RecordedAt: r.RecordedAt,
		Evidence: r.Evidence, Payload: []byte(r.Payload),
	}
	if r.RunID != nil {
		f.RunID = *r.RunID
	}
	if r.Detail != nil {
		f.Detail = []byte(*r.Detail)
	}
	return f
}

// rehash recomputes the row's hash from its fields and prev_hash.
func (r *EventRow) rehash() (string, error) {
	prev, err := hex.DecodeString(r.PrevHash)
	if err != nil || len(prev) != 32 {
		return "", fmt.Errorf("prev_hash %q is not 64 hex digits", r.PrevHash)
	}
	return hex.EncodeToString(store.EventHash(prev, r.chainFields())), nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
