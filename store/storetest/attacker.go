package storetest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/store"
)

// RewriteChain plays an attacker with full rights on the archive at url: it
// changes the payload of one old event (nothing the projections are folded
// from), then recomputes every hash of that chain and its head so the chain
// is consistent again, which `verify` alone cannot notice. It returns the
// target and chain position it changed.
func RewriteChain(t testing.TB, url string) (target, position int64) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, AdminURL(t, url))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if err := admin.QueryRow(ctx, `SELECT target_id, chain_position FROM archive.events
		WHERE instance_id IS NOT NULL ORDER BY target_id, chain_position OFFSET 40 LIMIT 1`).Scan(&target, &position); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `UPDATE archive.events SET payload = payload || '{"Forged":true}'
		WHERE target_id = $1 AND chain_position = $2`, target, position); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, AdminURL(t, url))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var events []store.StoredEvent
	err = st.ReadSnapshot(ctx, func(s *store.Snapshot) error {
		cur, err := s.Events(ctx, store.ByChain)
		if err != nil {
			return err
		}
		for {
			e, ok, err := cur.Next(ctx)
			if err != nil || !ok {
				return err
			}
			if e.TargetID == target {
				events = append(events, e)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	prev := store.GenesisHash
	for _, e := range events {
		h := store.EventHash(prev, e.ChainFields())
		if _, err := admin.Exec(ctx, `UPDATE archive.events SET prev_hash = $2, hash = $3 WHERE id = $1`, e.ID, prev, h); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
	if _, err := admin.Exec(ctx, `UPDATE archive.targets SET chain_head = $2 WHERE id = $1`, target, prev); err != nil {
		t.Fatal(err)
	}
	return target, position
}
