package audit

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudassistant/sendfile-archive/store"
)

// ManifestFormat and CheckpointFormat name the documents' versions.
const (
	ManifestFormat   = "sendfile-archive-export/1"
	CheckpointFormat = "sendfile-archive-checkpoint/1"
)

// Manifest is manifest.json (DESIGN.md §10.1).
type Manifest struct {
	Format          string       `json:"format"`
	ArchiverVersion string       `json:"archiver_version"`
	CreatedAt       string       `json:"created_at"`
	Selection       SelectionDoc `json:"selection"`
	Files           []FileEntry  `json:"files"`
	Chains          []ChainEntry `json:"chains"`
}

// SelectionDoc is the manifest's record of what was selected.
type SelectionDoc struct {
	From    string  `json:"from"`
	To      string  `json:"to"`
	By      string  `json:"by"` // occurred_at or recorded_at
	Account *string `json:"account"`
	Region  *string `json:"region"`
	Source  *string `json:"source"`
}

// FileEntry describes one data file of an export.
type FileEntry struct {
	Name   string `json:"name"` // path relative to the export directory, with forward slashes
	Format Format `json:"format"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ChainEntry is one target's chain length and head when the export (or
// checkpoint) was made.
type ChainEntry struct {
	Account  string `json:"account"`
	Region   string `json:"region"`
	Source   string `json:"source"`
	TargetID int64  `json:"target_id"`
	Length   int64  `json:"length"`
	Head     string `json:"head"`
}

// Checkpoint is a checkpoint document (DESIGN.md §10.4).
type Checkpoint struct {
	Format    string       `json:"format"`
	CreatedAt string       `json:"created_at"`
	Chains    []ChainEntry `json:"chains"`
}

// timeFormat is how the export and its documents write times: RFC 3339,
// UTC, exactly six fractional digits.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// FormatTime renders t as exports do.
func FormatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// ParseTime reads a time as exports write it.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// chainEntries renders chain heads as the documents list them.
func chainEntries(heads []store.ChainHead) []ChainEntry {
	out := make([]ChainEntry, 0, len(heads))
	for _, h := range heads {
		out = append(out, ChainEntry{Account: h.Target.Account, Region: h.Target.Region, Source: string(h.Target.Source),
			TargetID: h.Target.ID, Length: h.Length, Head: hex.EncodeToString(h.Head)})
	}
	return out
}

// marshalDocument renders a manifest or checkpoint: indented JSON ending in a
// newline, the exact bytes that are signed.
func marshalDocument(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return append(b, '\n'), nil
}
