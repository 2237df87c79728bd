package query

import (
	"context"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// ReportRow is the number of sends in one aggregate status at a time, in
// one target.
type ReportRow struct {
	Account string         `json:"account"`
	Region  string         `json:"region"`
	Source  model.SourceID `json:"source"`
	Status  model.Status   `json:"status"`
	Sends   int64          `json:"sends"`
}

// Report counts every archived send by its derived aggregate status at at,
// per target. Sends that did not exist yet at at are not counted.
func (q *Querier) Report(ctx context.Context, at time.Time) ([]ReportRow, error) {
	counts, err := q.Store.CountByStatusAt(ctx, at)
	if err != nil {
		return nil, err
	}
	out := make([]ReportRow, 0, len(counts))
	for _, c := range counts {
		out = append(out, ReportRow{Account: c.Target.Account, Region: c.Target.Region, Source: c.Target.Source,
			Status: c.Status, Sends: c.Sends})
	}
	return out, nil
}

// Gap is a period in which records may have been created and evicted before
// any walk saw them.
type Gap struct {
	From time.Time     `json:"from"`
	To   time.Time     `json:"to"`
	Span time.Duration `json:"-"`
}

// TargetCoverage summarises what the archive has seen of one target.
type TargetCoverage struct {
	Target        store.Target `json:"-"`
	Account       string       `json:"account"`
	Region        string       `json:"region"`
	Source        string       `json:"source"`
	Runs          int          `json:"runs"`
	CompleteWalks int          `json:"complete_walks"`
	FailedRuns    int          `json:"failed_runs"`
	// CoveredFrom is the oldest record creation time a complete walk listed:
	// before it, history predates the archive.
	CoveredFrom  *time.Time `json:"covered_from"`
	LastComplete *time.Time `json:"last_complete_walk"`
	Gaps         []Gap      `json:"gaps"`
	// Tracked is a source that cannot be listed (EFLO): its tasks are
	// polled by id as they are registered, so listing coverage does not
	// apply (no walks, no gaps); what was registered is what is archived.
	Tracked bool `json:"tracked"`
}

// GapSeconds is the total length of the target's gaps, for the coverage
// metric: a gap never heals (what was evicted unseen stays lost), so
// neither does the metric.
func (c TargetCoverage) GapSeconds() float64 {
	var total time.Duration
	for _, g := range c.Gaps {
		total += g.Span
	}
	return total.Seconds()
}

// Coverage derives each target's coverage from its runs (ordered by start).
//
// A complete walk lists everything the source still holds. If the oldest
// record a walk lists was created after the previous complete walk started,
// records created in between may have been evicted before any walk saw them:
// that interval is a gap.
func Coverage(targets []store.Target, runs []store.Run) []TargetCoverage {
	byTarget := map[int64][]store.Run{}
	for _, r := range runs {
		byTarget[r.TargetID] = append(byTarget[r.TargetID], r)
	}
	out := make([]TargetCoverage, 0, len(targets))
	for _, t := range targets {
		c := TargetCoverage{Target: t, Account: t.Account, Region: t.Region, Source: string(t.Source), Gaps: []Gap{},
			Tracked: model.IsTracked(t.Source)}
		var prev *store.Run
		for i := range byTarget[t.ID] {
			r := byTarget[t.ID][i]
			c.Runs++
			if r.Outcome == model.RunFailed {
				c.FailedRuns++
			}
			if !r.CompleteWalk || c.Tracked {
				continue
			}
			c.CompleteWalks++
			if c.CoveredFrom == nil && r.OldestListed != nil {
				c.CoveredFrom = r.OldestListed
			}
			oldest := r.StartedAt
			if r.OldestListed != nil {
				oldest = *r.OldestListed
			}
			if prev != nil && oldest.After(prev.StartedAt) {
				c.Gaps = append(c.Gaps, Gap{From: prev.StartedAt, To: oldest, Span: oldest.Sub(prev.StartedAt)})
			}
			finished := r.StartedAt
			if r.FinishedAt != nil {
				finished = *r.FinishedAt
			}
			c.LastComplete = &finished
			prev = &byTarget[t.ID][i]
		}
		out = append(out, c)
	}
	return out
}
