package query

import (
	"bytes"
	"context"
	"fmt"

	"github.com/cloudassistant/sendfile-archive/store"
)

// Problem names the first event at which a chain stops checking out.
type Problem struct {
	TargetID int64  `json:"target_id"`
	EventID  int64  `json:"event_id"` // 0 when the problem is at the end of the chain
	InvokeID string `json:"invoke_id,omitempty"`
	Seq      int64  `json:"seq,omitempty"`
	Reason   string `json:"reason"`
}

func (p Problem) String() string {
	if p.EventID == 0 {
		return fmt.Sprintf("target %d: %s", p.TargetID, p.Reason)
	}
	return fmt.Sprintf("event %d (target %d, %s seq %d): %s", p.EventID, p.TargetID, p.InvokeID, p.Seq, p.Reason)
}

// VerifyReport is the outcome of recomputing every chain.
type VerifyReport struct {
	Targets  int       `json:"targets"`
	Events   int64     `json:"events"`
	Problems []Problem `json:"problems"` // the first problem of each broken chain
}

// OK reports whether every chain checked out.
func (r VerifyReport) OK() bool { return len(r.Problems) == 0 }

// Verify recomputes every target's hash chain from the stored events and
// compares it with the stored hashes and with the chain head each target row
// records. It reports the first bad event of each chain.
func (q *Querier) Verify(ctx context.Context) (VerifyReport, error) {
	heads, err := q.Store.ChainHeads(ctx)
	if err != nil {
		return VerifyReport{}, err
	}
	type chain struct {
		prev   []byte
		length int64
		broken bool
	}
	chains := map[int64]*chain{}
	var rep VerifyReport
	err = q.Store.ScanEvents(ctx, store.ByChain, func(e store.StoredEvent) error {
		rep.Events++
		c := chains[e.TargetID]
		if c == nil {
			c = &chain{prev: store.GenesisHash}
			chains[e.TargetID] = c
		}
		c.length++
		if c.broken {
			return nil
		}
		bad := func(reason string) {
			c.broken = true
			rep.Problems = append(rep.Problems, Problem{TargetID: e.TargetID, EventID: e.ID, InvokeID: e.InvokeID, Seq: e.Seq, Reason: reason})
		}
		if !bytes.Equal(e.PrevHash, c.prev) {
			bad("its prev_hash is not the hash of the event before it: an event was removed, inserted or moved here")
			return nil
		}
		if !bytes.Equal(store.EventHash(c.prev, e.ChainFields()), e.Hash) {
			bad("its contents do not match its hash: the event was altered")
			return nil
		}
		c.prev = e.Hash
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	rep.Targets = len(heads)
	for _, h := range heads {
		c := chains[h.Target.ID]
		if c == nil {
			c = &chain{prev: store.GenesisHash}
		}
		if c.broken {
			continue
		}
		if c.length != h.Length || !bytes.Equal(c.prev, h.Head) {
			rep.Problems = append(rep.Problems, Problem{TargetID: h.Target.ID, Reason: fmt.Sprintf(
				"the chain has %d events ending in a different head than the %d events the target records: events at its end were removed or added",
				c.length, h.Length)})
		}
	}
	return rep, nil
}
