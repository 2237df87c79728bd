package query

import (
	"context"
	"sort"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// PeriodReport is the period audit report (DESIGN.md §13): what happened to
// the sends created in [From, To), as they stood at To, and whether the
// archive saw the whole period.
type PeriodReport struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Gaps are the coverage gaps that overlap the period, clipped to it:
	// records created in them may have been evicted unseen.
	Gaps []PeriodGap `json:"gaps"`
	// Partial lists targets whose complete walks do not span the period.
	Partial []PartialCoverage `json:"partial_coverage"`
	Sends   int64             `json:"sends"`
	// ByStatus counts the sends by derived status at To; Days by UTC day
	// of creation.
	ByStatus      map[model.Status]int64 `json:"by_status"`
	Days          []PeriodDay            `json:"days"`
	Instances     []store.Count          `json:"instances_by_status"`
	ErrorCodes    []store.Count          `json:"top_error_codes"`
	Files         []store.FileCount      `json:"top_files"`
	Disagreeing   int64                  `json:"disagreeing_sends"`
	Disagreements []store.Disagreement   `json:"disagreements"`
}

// PeriodGap is a coverage gap of one target within the period.
type PeriodGap struct {
	Target string    `json:"target"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
}

// PartialCoverage is a target whose coverage begins after the period
// starts, or ends before it does: sends created outside are not in the
// archive (they predate it, or were not walked yet).
type PartialCoverage struct {
	Target       string     `json:"target"`
	CoveredFrom  *time.Time `json:"covered_from"`
	LastComplete *time.Time `json:"last_complete_walk"`
}

// PeriodDay is one UTC day's sends by status.
type PeriodDay struct {
	Day      time.Time              `json:"day"`
	ByStatus map[model.Status]int64 `json:"by_status"`
	Sends    int64                  `json:"sends"`
}

// Period builds the period audit report.
func (q *Querier) Period(ctx context.Context, from, to time.Time) (PeriodReport, error) {
	d, err := q.Store.Period(ctx, from, to)
	if err != nil {
		return PeriodReport{}, err
	}
	r := PeriodReport{From: from.UTC(), To: to.UTC(), Gaps: []PeriodGap{}, Partial: []PartialCoverage{},
		ByStatus: map[model.Status]int64{}, Days: []PeriodDay{}, Instances: d.Instances, ErrorCodes: d.ErrorCodes,
		Files: d.Files, Disagreeing: d.Disagreeing, Disagreements: d.Disagreements}
	for _, ds := range d.Days {
		if n := len(r.Days); n == 0 || !r.Days[n-1].Day.Equal(ds.Day) {
			r.Days = append(r.Days, PeriodDay{Day: ds.Day, ByStatus: map[model.Status]int64{}})
		}
		day := &r.Days[len(r.Days)-1]
		day.ByStatus[ds.Status] += ds.Sends
		day.Sends += ds.Sends
		r.ByStatus[ds.Status] += ds.Sends
		r.Sends += ds.Sends
	}
	r.periodCoverage(Coverage(d.Targets, d.Runs))
	return r, nil
}

// periodCoverage clips each target's gaps to the period and names targets
// whose complete walks do not span it.
func (r *PeriodReport) periodCoverage(cov []TargetCoverage) {
	for _, c := range cov {
		if c.Tracked {
			continue // no listing, so nothing can be missing from one
		}
		for _, g := range c.Gaps {
			from, to := maxTime(g.From, r.From), minTime(g.To, r.To)
			if from.Before(to) {
				r.Gaps = append(r.Gaps, PeriodGap{Target: c.Target.String(), From: from, To: to})
			}
		}
		if c.CoveredFrom == nil || c.CoveredFrom.After(r.From) || c.LastComplete == nil || c.LastComplete.Before(r.To) {
			r.Partial = append(r.Partial, PartialCoverage{Target: c.Target.String(), CoveredFrom: c.CoveredFrom,
				LastComplete: c.LastComplete})
		}
	}
	sort.Slice(r.Gaps, func(i, j int) bool { return r.Gaps[i].From.Before(r.Gaps[j].From) })
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
