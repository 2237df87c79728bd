package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// LoggedEvent is an event without what legitimately differs between two
// archives of the same source: run ids, recording times, row ids and hashes.
// Two archives built from the same history must have equal logs.
type LoggedEvent struct {
	Region, InvokeID, InstanceID string
	Seq                          int64
	Type, From, To               string
	OccurredAt                   time.Time
	Evidence, Detail, Payload    string
}

// String is the event's line in the fingerprint.
func (e LoggedEvent) String() string {
	return fmt.Sprintf("%s|%s|%s|%d|%s|%s|%s|%s|%s|%s|%s", e.Region, e.InvokeID, e.InstanceID, e.Seq, e.Type,
		e.From, e.To, e.OccurredAt.UTC().Format("2006-01-02T15:04:05.000000"), e.Evidence, e.Detail, e.Payload)
}

// Log reads the event log of the archive at dbURL in a canonical order
// (region, invocation, sequence).
func Log(t testing.TB, dbURL string) []LoggedEvent {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT t.region, e.invoke_id, coalesce(e.instance_id, ''), e.seq, e.type, coalesce(e.from_status, ''),
		       coalesce(e.to_status, ''), e.occurred_at, e.evidence, coalesce(e.detail::text, ''), e.payload::text
		FROM archive.events e JOIN archive.targets t ON t.id = e.target_id
		ORDER BY t.region, e.invoke_id, e.seq`)
	if err != nil {
		t.Fatal(err)
	}
	log, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LoggedEvent, error) {
		var e LoggedEvent
		err := r.Scan(&e.Region, &e.InvokeID, &e.InstanceID, &e.Seq, &e.Type, &e.From, &e.To, &e.OccurredAt,
			&e.Evidence, &e.Detail, &e.Payload)
		e.OccurredAt = e.OccurredAt.UTC()
		return e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// Fingerprint is a digest of the archive's event log (see LoggedEvent) and
// its length.
func Fingerprint(t testing.TB, dbURL string) (string, int) {
	t.Helper()
	log := Log(t, dbURL)
	h := sha256.New()
	for _, e := range log {
		h.Write([]byte(e.String() + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil)), len(log)
}

// FirstDifference names the first event where two logs differ, for a
// readable failure; "" when they are equal.
func FirstDifference(got, want []LoggedEvent) string {
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w string
		if i < len(got) {
			g = got[i].String()
		}
		if i < len(want) {
			w = want[i].String()
		}
		if g != w {
			return fmt.Sprintf("first difference at event %d of %d/%d:\n  got  %s\n  want %s", i, len(got), len(want), g, w)
		}
	}
	return ""
}
