package query

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// Problem names the first event (or projection) at which the archive stops
// checking out.
type Problem struct {
	TargetID int64  `json:"target_id"`
	EventID  int64  `json:"event_id,omitempty"` // 0 when the problem is not one event
	Position int64  `json:"chain_position,omitempty"`
	InvokeID string `json:"invoke_id,omitempty"`
	Seq      int64  `json:"seq,omitempty"`
	Reason   string `json:"reason"`
}

func (p Problem) String() string {
	switch {
	case p.EventID != 0:
		return fmt.Sprintf("event %d (target %d, position %d, %s seq %d): %s", p.EventID, p.TargetID, p.Position,
			p.InvokeID, p.Seq, p.Reason)
	case p.InvokeID != "":
		return fmt.Sprintf("projection of %s (target %d): %s", p.InvokeID, p.TargetID, p.Reason)
	}
	return fmt.Sprintf("target %d: %s", p.TargetID, p.Reason)
}

// VerifyReport is the outcome of recomputing every chain and every
// projection.
type VerifyReport struct {
	Targets     int   `json:"targets"`
	Events      int64 `json:"events"`
	Invocations int64 `json:"invocations"`
	// Problems holds the first problem of each broken chain, then the first
	// projection that differs from the fold of the log.
	Problems []Problem `json:"problems"`
}

// OK reports whether everything checked out.
func (r VerifyReport) OK() bool { return len(r.Problems) == 0 }

// Verify recomputes every target's hash chain from the stored events and
// compares it with the stored hashes, positions and chain heads; then it
// folds the log again and compares every projection with it. Everything is
// read from one snapshot, so appends running meanwhile cannot confuse it.
func (q *Querier) Verify(ctx context.Context) (VerifyReport, error) {
	var rep VerifyReport
	err := q.Store.ReadSnapshot(ctx, func(s *store.Snapshot) error {
		heads, err := s.ChainHeads(ctx)
		if err != nil {
			return err
		}
		rep.Targets = len(heads)
		if err := verifyChains(ctx, s, heads, &rep); err != nil {
			return err
		}
		return verifyProjections(ctx, s, &rep)
	})
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	return rep, nil
}

// chainState is one chain as verifyChains has read it so far.
type chainState struct {
	prev   []byte
	length int64
	broken bool
	first  Problem // names the chain's first event
}

func verifyChains(ctx context.Context, s *store.Snapshot, heads []store.ChainHead, rep *VerifyReport) error {
	events, err := s.Events(ctx, store.ByChain)
	if err != nil {
		return err
	}
	chains := map[int64]*chainState{}
	var order []int64 // targets in the order their chains were read
	for {
		e, ok, err := events.Next(ctx)
		if err != nil || !ok {
			if err != nil {
				return err
			}
			break
		}
		rep.Events++
		c := chains[e.TargetID]
		if c == nil {
			c = &chainState{prev: store.GenesisHash, first: Problem{TargetID: e.TargetID, EventID: e.ID,
				Position: e.ChainPosition, InvokeID: e.InvokeID, Seq: e.Seq}}
			chains[e.TargetID] = c
			order = append(order, e.TargetID)
		}
		c.length++
		if c.broken {
			continue
		}
		if reason := checkLink(c, e); reason != "" {
			c.broken = true
			rep.Problems = append(rep.Problems, Problem{TargetID: e.TargetID, EventID: e.ID, Position: e.ChainPosition,
				InvokeID: e.InvokeID, Seq: e.Seq, Reason: reason})
			continue
		}
		c.prev = e.Hash
	}
	checkHeads(chains, heads, rep)
	checkOrphans(chains, order, heads, rep)
	return checkRuns(ctx, s, rep)
}

// checkRuns reports, by its first event, each run id that events name but
// no run row holds. No foreign key guards events.run_id (migration 19: the
// runs of a target with events refuse deletion instead).
func checkRuns(ctx context.Context, s *store.Snapshot, rep *VerifyReport) error {
	runless, err := s.EventsOfNoRun(ctx)
	if err != nil {
		return err
	}
	for _, e := range runless {
		rep.Problems = append(rep.Problems, Problem{TargetID: e.TargetID, EventID: e.ID, Position: e.ChainPosition,
			InvokeID: e.InvokeID, Seq: e.Seq, Reason: fmt.Sprintf(
				"its run_id %d names no ingest run, nor does any later event naming that run: the run was deleted, or the event was inserted under one that does not exist",
				e.RunID)})
	}
	return nil
}

// checkHeads compares each target's recorded head with its chain as read.
func checkHeads(chains map[int64]*chainState, heads []store.ChainHead, rep *VerifyReport) {
	for _, h := range heads {
		c := chains[h.Target.ID]
		if c == nil {
			c = &chainState{prev: store.GenesisHash}
		}
		if !c.broken && (c.length != h.Length || !bytes.Equal(c.prev, h.Head)) {
			rep.Problems = append(rep.Problems, Problem{TargetID: h.Target.ID, Reason: fmt.Sprintf(
				"the chain has %d events ending in a different head than the %d events the target records: events at its end were removed or added",
				c.length, h.Length)})
		}
	}
}

// checkOrphans reports, by its first event, each chain whose target_id
// names no target. No foreign key guards events.target_id (migration 18:
// a target with events refuses deletion instead), so this is where an event
// of no target shows.
func checkOrphans(chains map[int64]*chainState, order []int64, heads []store.ChainHead, rep *VerifyReport) {
	known := make(map[int64]bool, len(heads))
	for _, h := range heads {
		known[h.Target.ID] = true
	}
	for _, id := range order {
		if known[id] {
			continue
		}
		p := chains[id].first
		p.Reason = fmt.Sprintf("its target_id %d names no target, and so do the %d events after it on that chain: the target was deleted, or the events were inserted under one that does not exist",
			id, chains[id].length-1)
		rep.Problems = append(rep.Problems, p)
	}
}

// checkLink says why e does not extend the chain read so far ("" if it does).
func checkLink(c *chainState, e store.StoredEvent) string {
	switch {
	case e.ChainPosition != c.length:
		return fmt.Sprintf("it says it is at chain position %d but is event %d of the chain: an event was removed, inserted or moved here",
			e.ChainPosition, c.length)
	case !bytes.Equal(e.PrevHash, c.prev):
		return "its prev_hash is not the hash of the event before it: an event was removed, inserted or moved here"
	case !bytes.Equal(store.EventHash(c.prev, e.ChainFields()), e.Hash):
		return "its contents do not match its hash: the event was altered"
	}
	return ""
}

// foldAll feeds every event of the cursor to the folder.
func foldAll(ctx context.Context, events *store.EventCursor, f *store.Folder) error {
	for {
		e, ok, err := events.Next(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return f.Flush()
		}
		if err := f.Add(e); err != nil {
			return err
		}
	}
}

// verifyProjections folds the log invocation by invocation and compares
// each result with the stored projection, reporting the first difference.
// Both sides are read in the same order from the same snapshot.
func verifyProjections(ctx context.Context, s *store.Snapshot, rep *VerifyReport) error {
	return s.Beside(ctx, func(side *store.Snapshot) error {
		projections, err := side.Projections(ctx)
		if err != nil {
			return err
		}
		events, err := s.Events(ctx, store.ByInvocation)
		if err != nil {
			return err
		}
		return compareProjections(ctx, events, projections, rep)
	})
}

// compareProjections folds the events and compares each send's state with
// its stored projection, recording the first difference.
func compareProjections(ctx context.Context, events *store.EventCursor, projections *store.ProjectionCursor, rep *VerifyReport) error {
	var found *Problem
	folder := store.NewFolder(func(targetID int64, k *model.KnownInvocation) error {
		rep.Invocations++
		if found != nil {
			return nil
		}
		p, ok, err := projections.Next(ctx)
		switch {
		case err != nil:
			return err
		case !ok:
			found = &Problem{TargetID: targetID, InvokeID: k.InvokeID, Reason: "the event log has it, the projections do not"}
		case p.TargetID != targetID || p.Known.InvokeID != k.InvokeID:
			found = &Problem{TargetID: targetID, InvokeID: k.InvokeID, Reason: fmt.Sprintf(
				"the event log has it next, the projections have %s of target %d next: a projection is missing or added", p.Known.InvokeID, p.TargetID)}
		default:
			if d := p.Diff(k); d != "" {
				found = &Problem{TargetID: targetID, InvokeID: k.InvokeID, Reason: d}
			}
		}
		return nil
	})
	err := foldAll(ctx, events, folder)
	var fe *store.FoldError
	if errors.As(err, &fe) {
		if found == nil {
			found = &Problem{TargetID: fe.TargetID, InvokeID: fe.InvokeID, Reason: "its events do not fold: " + fe.Err.Error()}
		}
	} else if err != nil {
		return err
	}
	if found == nil {
		if p, ok, err := projections.Next(ctx); err != nil {
			return err
		} else if ok {
			found = &Problem{TargetID: p.TargetID, InvokeID: p.Known.InvokeID, Reason: "a projection without any event in the log"}
		}
	}
	if found != nil {
		rep.Problems = append(rep.Problems, *found)
	}
	return nil
}
