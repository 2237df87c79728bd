package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
)

// writeSends writes sends.<ext> and instances.<ext>: every send with an
// event in the selection, folded from its events as it stood at the end of
// the period (valid time To; as known at To when selecting by recording
// time), one send in memory at a time.
func (x *exporter) writeSends(ctx context.Context, s *store.Snapshot) error {
	daily := x.o.Layout == LayoutDaily
	sends := &partitioned[SendRow]{x: x, table: "sends"}
	instances := &partitioned[InstanceRow]{x: x, table: "instances"}
	defer sends.abandon()
	defer instances.abandon()
	if !daily {
		if err := sends.to(""); err != nil {
			return err
		}
		if err := instances.to(""); err != nil {
			return err
		}
	}
	var done int64
	write := func(it *sendItem) error {
		if done++; done%progressEvery == 0 {
			x.progress("sends", done, -1)
		}
		if err := sends.write(it.part, &it.send); err != nil {
			return err
		}
		for i := range it.instances {
			if err := instances.write(it.part, &it.instances[i]); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if x.o.Selection.ByRecorded || x.o.Refold {
		err = x.foldEverySend(ctx, s, write)
	} else {
		err = x.settledSends(ctx, s, write)
	}
	if err != nil {
		return err
	}
	x.progress("sends", done, done)
	if err := sends.close(); err != nil {
		return err
	}
	return instances.close()
}

// foldEverySend folds every send of the selection from its events: read,
// fold and write run as three stages.
func (x *exporter) foldEverySend(ctx context.Context, s *store.Snapshot, write func(*sendItem) error) error {
	cur, err := s.SelectedSendEvents(ctx, x.o.Selection, x.o.Layout == LayoutDaily)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	groups := source(gctx, g, func(emit func(sendGroup) error) error { return groupSends(gctx, cur, emit) })
	sink(g, mapStage(gctx, g, groups, x.sendRows), write)
	return g.Wait()
}

// settledSends takes the state of a send at the end of the period from its
// projection when none of its events occurred later (query.SendOf), and
// folds only the others from their events. Selecting by occurred time only:
// by recording time, the state as known at the end is never a projection.
func (x *exporter) settledSends(ctx context.Context, s *store.Snapshot, write func(*sendItem) error) error {
	cur, err := s.SelectedSendStates(ctx, x.o.Selection, x.o.Layout == LayoutDaily)
	if err != nil {
		return err
	}
	return pipeline(ctx, func(emit func(sendItem) error) error {
		for {
			st, ok, err := cur.Next(ctx)
			if err != nil || !ok {
				return err
			}
			var it sendItem
			if st.Settled != nil {
				it, err = x.sendItemOf(st.TargetID, st.InvokeID, st.Anchor, query.SendOf(st.Settled), true)
			} else {
				var events []store.StoredEvent
				if events, err = s.SendEvents(ctx, st.TargetID, st.InvokeID, x.o.Selection.To); err == nil {
					it, err = x.sendRows(&sendGroup{anchor: st.Anchor, events: events})
				}
			}
			if err != nil {
				return err
			}
			if err := emit(it); err != nil {
				return err
			}
		}
	}, write)
}

// sendItem is one send's rows and the partition they go to.
type sendItem struct {
	part      string
	send      SendRow
	instances []InstanceRow
}

// sendGroup is one send's events and its anchor (see SendEventCursor).
type sendGroup struct {
	anchor time.Time
	events []store.StoredEvent
}

// groupSends reads the cursor and emits each send's events together.
func groupSends(ctx context.Context, cur *store.SendEventCursor, emit func(sendGroup) error) error {
	var g sendGroup
	for {
		a, e, ok, err := cur.Next(ctx)
		if err != nil {
			return err
		}
		if !ok {
			if len(g.events) > 0 {
				return emit(g)
			}
			return nil
		}
		if len(g.events) > 0 && (e.TargetID != g.events[0].TargetID || e.InvokeID != g.events[0].InvokeID) {
			if err := emit(g); err != nil {
				return err
			}
			g = sendGroup{}
		}
		g.anchor = a
		g.events = append(g.events, e)
	}
}

// sendRows folds one send's events into its row and its instances' rows, as
// the send stood at the end of the period (valid time To; as known at To
// when selecting by recording time).
func (x *exporter) sendRows(g *sendGroup) (sendItem, error) {
	events := g.events
	var knownAt *time.Time
	if x.o.Selection.ByRecorded {
		to := x.o.Selection.To
		knownAt = &to
	}
	state, ok, err := query.SendAt(events, x.o.Selection.To, knownAt)
	if err != nil {
		return sendItem{}, fmt.Errorf("fold %s: %w", events[0].InvokeID, err)
	}
	return x.sendItemOf(events[0].TargetID, events[0].InvokeID, g.anchor, state, ok)
}

// sendItemOf renders a send's state at the end of the period as rows.
func (x *exporter) sendItemOf(targetID int64, invokeID string, anchor time.Time, state query.Send, ok bool) (sendItem, error) {
	t := x.targets[targetID]
	row := SendRow{Account: t.Account, Region: t.Region, Source: string(t.Source), InvokeID: invokeID, Tags: "[]"}
	if ok {
		a := state.Attributes
		row.Name, row.Description, row.TargetDir = optString(a.Name), optString(a.Description), optString(a.TargetDir)
		row.FileOwner, row.FileGroup, row.FileMode = optString(a.FileOwner), optString(a.FileGroup), optString(a.FileMode)
		row.Overwrite, row.ContentType, row.ContentSHA256 = a.Overwrite, optString(a.ContentType), optString(a.ContentSHA256)
		row.CreationTime, row.ExpiredAt = utcPtr(a.CreationTime), utcPtr(state.ExpiredAt)
		row.Status, row.ReportedStatus = optString(string(state.Status.Status)), optString(string(state.ReportedStatus))
		row.CommandID, row.Parameters, row.RepeatMode = optString(a.CommandID), optString(a.Parameters), optString(a.RepeatMode)
		row.Frequency, row.Timeout = optString(a.Frequency), a.Timeout
		row.Username, row.WorkingDir = optString(a.Username), optString(a.WorkingDir)
		tags, err := json.Marshal(tagsDoc(state))
		if err != nil {
			return sendItem{}, fmt.Errorf("encode tags of %s: %w", row.InvokeID, err)
		}
		row.Tags = string(tags)
	}
	it := sendItem{part: x.partitionOf(anchor), send: row, instances: make([]InstanceRow, 0, len(state.Instances))}
	for _, in := range state.Instances {
		it.instances = append(it.instances, InstanceRow{Account: t.Account, Region: t.Region, Source: string(t.Source),
			InvokeID: row.InvokeID, InstanceID: in.InstanceID, Status: string(in.Status), Since: in.Since.UTC(),
			ErrorCode: optString(in.ErrorCode), ErrorInfo: optString(in.ErrorInfo), Repeats: in.Repeats,
			ExitCode: in.ExitCode, OutputSHA256: optString(in.OutputSHA256), Dropped: in.Dropped})
	}
	return it, nil
}

type tagDoc struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func tagsDoc(s query.Send) []tagDoc {
	out := make([]tagDoc, 0, len(s.Tags))
	for _, t := range s.Tags {
		out = append(out, tagDoc{Key: t.Key, Value: t.Value})
	}
	return out
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
