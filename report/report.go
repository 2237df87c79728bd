// Package report renders the period audit report (query.PeriodReport) for
// people and programs: a text table, JSON, CSV, and one self-contained HTML
// file with inline SVG charts that reads well on screen and printed. It only
// presents: every number comes from query.
package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
)

// statusOrder is the order outcomes are listed and stacked in.
var statusOrder = []model.Status{model.AggregateSuccess, model.AggregatePartialFailed, model.AggregateFailed,
	model.AggregateRunning, model.AggregatePending, model.AggregateUnknown}

// statuses lists the statuses present in counts, in statusOrder, then any
// others (undocumented values are kept verbatim) by name.
func statuses(counts map[model.Status]int64) []model.Status {
	var out []model.Status
	seen := map[model.Status]bool{}
	for _, s := range statusOrder {
		if counts[s] > 0 {
			out = append(out, s)
		}
		seen[s] = true
	}
	var rest []model.Status
	for s := range counts {
		if !seen[s] {
			rest = append(rest, s)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
	return append(out, rest...)
}

// coverageSentences says, in words, whether the archive saw the whole
// period: gaps first (alarming is true then), then where coverage begins
// or ends inside the period.
func coverageSentences(r query.PeriodReport) (out []string, alarming bool) {
	for _, g := range r.Gaps {
		out = append(out, fmt.Sprintf("GAP in %s from %s to %s: sends created then may have been evicted by the cloud before the archive listed them.",
			g.Target, stamp(g.From), stamp(g.To)))
	}
	alarming = len(out) > 0
	for _, p := range r.Partial {
		switch {
		case p.CoveredFrom == nil || p.LastComplete == nil:
			out = append(out, fmt.Sprintf("%s has no complete walk yet: its sends may be missing from this report.", p.Target))
			alarming = true
		case p.CoveredFrom.After(r.From):
			out = append(out, fmt.Sprintf("The archive's coverage of %s begins at %s: sends created before then predate the archive.",
				p.Target, stamp(*p.CoveredFrom)))
		}
		if p.LastComplete != nil && p.LastComplete.Before(r.To) {
			out = append(out, fmt.Sprintf("The last complete walk of %s ended at %s: sends created after it are not in this report yet.",
				p.Target, stamp(*p.LastComplete)))
		}
	}
	if !alarming {
		out = append([]string{"No gaps: every send created in the period while the archive was running was listed by one of its complete walks."}, out...)
	}
	return out, alarming
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// JSON writes the report as one JSON object.
func JSON(w io.Writer, r query.PeriodReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Text writes the report as plain text tables.
func Text(w io.Writer, r query.PeriodReport) error {
	fmt.Fprintf(w, "Audit report: sends created from %s to %s (status as of the end)\n\n", stamp(r.From), stamp(r.To))
	sentences, _ := coverageSentences(r)
	for _, s := range sentences {
		fmt.Fprintln(w, s)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nSENDS\t%d\n", r.Sends)
	for _, s := range statuses(r.ByStatus) {
		fmt.Fprintf(tw, "  %s\t%d\n", s, r.ByStatus[s])
	}
	section := func(title string, rows [][2]string) {
		fmt.Fprintf(tw, "\n%s\t\n", title)
		for _, row := range rows {
			fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
		}
	}
	section("INSTANCES BY STATUS", countRows(r.Instances))
	section("TOP ERROR CODES", countRows(r.ErrorCodes))
	files := make([][2]string, 0, len(r.Files))
	for _, f := range r.Files {
		files = append(files, [2]string{f.Name + " -> " + f.TargetDir, strconv.FormatInt(f.Sends, 10)})
	}
	section("FILES PUSHED (NAME -> TARGET DIRECTORY)", files)
	dis := make([][2]string, 0, len(r.Disagreements))
	for _, d := range r.Disagreements {
		dis = append(dis, [2]string{d.InvokeID + " (" + d.Target.String() + ")",
			fmt.Sprintf("derived %s, cloud %s, %d times", d.DerivedStatus, d.ReportedStatus, d.Times)})
	}
	section(fmt.Sprintf("DERIVED AND REPORTED STATUS DISAGREED (%d sends)", r.Disagreeing), dis)
	return tw.Flush()
}

func countRows(cs []store.Count) [][2]string {
	out := make([][2]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, [2]string{orNone(c.Key), strconv.FormatInt(c.Count, 10)})
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// CSV writes the report as one CSV table of (section, key, value) rows, so
// a spreadsheet can pivot it.
func CSV(w io.Writer, r query.PeriodReport) error {
	cw := csv.NewWriter(w)
	write := func(section, key string, value int64) {
		_ = cw.Write([]string{section, key, strconv.FormatInt(value, 10)})
	}
	_ = cw.Write([]string{"section", "key", "value"})
	for _, g := range r.Gaps {
		_ = cw.Write([]string{"gap", g.Target, stamp(g.From) + "/" + stamp(g.To)})
	}
	write("sends", "total", r.Sends)
	for _, s := range statuses(r.ByStatus) {
		write("sends_by_status", string(s), r.ByStatus[s])
	}
	for _, d := range r.Days {
		for _, s := range statuses(d.ByStatus) {
			write("sends_by_day_and_status", d.Day.Format("2006-01-02")+"/"+string(s), d.ByStatus[s])
		}
	}
	for _, c := range r.Instances {
		write("instances_by_status", c.Key, c.Count)
	}
	for _, c := range r.ErrorCodes {
		write("top_error_codes", c.Key, c.Count)
	}
	for _, f := range r.Files {
		write("top_files", f.Name+" -> "+f.TargetDir, f.Sends)
	}
	write("disagreeing_sends", "total", r.Disagreeing)
	cw.Flush()
	return cw.Error()
}
