package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/cloudassistant/sendfile-archive/model"
)

// JSONBText renders a JSON document exactly as PostgreSQL prints it back
// from a jsonb column (jsonb's text output), which is what the chain hashes:
// object keys in jsonb's order (shorter first, then bytewise) without
// duplicates (the last wins), ", " and ": " between members, numbers as
// numeric prints them, strings escaped as escape_json does, and U+0000
// (which jsonb refuses) as U+FFFD. Rendering it here saves asking
// PostgreSQL for the form page by page; TestJSONBTextMatchesPostgreSQL holds
// the two equal.
func JSONBText(raw []byte) ([]byte, error) {
	if raw == nil {
		return nil, nil
	}
	if out, ok := fastJSONB(raw); ok {
		return out, nil
	}
	return generalJSONB(raw)
}

// generalJSONB is JSONBText for any document: decoded with encoding/json,
// as PostgreSQL would parse it, then printed.
func generalJSONB(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("jsonb text: %w", err)
	}
	buf := make([]byte, 0, len(raw)+len(raw)/8)
	return model.AppendJSONB(buf, v)
}
