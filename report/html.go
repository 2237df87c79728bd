package report

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"strings"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
)

// colors gives each outcome a colour that also prints legibly in grey.
var colors = map[model.Status]string{
	model.AggregateSuccess: "#2e7d32", model.AggregatePartialFailed: "#ef6c00", model.AggregateFailed: "#c62828",
	model.AggregateRunning: "#1565c0", model.AggregatePending: "#9e9e9e", model.AggregateUnknown: "#6a1b9a",
}

func colorOf(s model.Status) string {
	if c, ok := colors[s]; ok {
		return c
	}
	return "#424242"
}

// HTML writes the report as one self-contained page: inline CSS and SVG,
// no scripts, nothing fetched from the network.
func HTML(w io.Writer, r query.PeriodReport) error {
	sentences, alarming := coverageSentences(r)
	data := struct {
		R        query.PeriodReport
		Coverage []string
		Gaps     bool
		Statuses []model.Status
		Color    func(model.Status) string
		DayChart template.HTML
		ErrChart template.HTML
	}{R: r, Coverage: sentences, Gaps: alarming,
		Statuses: statuses(r.ByStatus), Color: colorOf, DayChart: dayChart(r), ErrChart: errorChart(r)}
	return page.Execute(w, data)
}

// dayChart is a stacked bar per UTC day of creation, by outcome.
func dayChart(r query.PeriodReport) template.HTML {
	const width, height, left, bottom = 760.0, 240.0, 44.0, 30.0
	if len(r.Days) == 0 {
		return `<p class="empty">No sends were created in the period.</p>`
	}
	var peak int64
	for _, d := range r.Days {
		peak = max(peak, d.Sends)
	}
	slot := (width - left) / float64(len(r.Days))
	scale := (height - bottom - 10) / float64(peak)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="sends-per-day" viewBox="0 0 %.0f %.0f" role="img" aria-label="Sends per day by outcome">`, width, height)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#555"/>`, left, height-bottom, width, height-bottom)
	fmt.Fprintf(&b, `<text x="%.0f" y="14" class="axis">%d</text><text x="%.0f" y="%.0f" class="axis">0</text>`,
		left-6, peak, left-6, height-bottom)
	every := max(1, len(r.Days)/10)
	for i, d := range r.Days {
		x := left + float64(i)*slot
		y := height - bottom
		for _, s := range statuses(d.ByStatus) {
			h := float64(d.ByStatus[s]) * scale
			y -= h
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s %s: %d</title></rect>`,
				x+slot*0.1, y, slot*0.8, h, colorOf(s), d.Day.Format("2006-01-02"), html.EscapeString(string(s)), d.ByStatus[s])
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.2f" y="%.0f" class="label">%s</text>`, x+slot/2, height-bottom+16, d.Day.Format("01-02"))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// errorChart is a horizontal bar per error code, most frequent first.
func errorChart(r query.PeriodReport) template.HTML {
	if len(r.ErrorCodes) == 0 {
		return `<p class="empty">No instance of these sends reported an error.</p>`
	}
	const width, row, label = 760.0, 22.0, 260.0
	peak := r.ErrorCodes[0].Count
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="top-error-codes" viewBox="0 0 %.0f %.0f" role="img" aria-label="Most frequent error codes">`,
		width, row*float64(len(r.ErrorCodes))+4)
	for i, c := range r.ErrorCodes {
		y := float64(i) * row
		w := (width - label - 60) * float64(c.Count) / float64(peak)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" class="code">%s</text>`, label-8, y+15, html.EscapeString(orNone(c.Key)))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.2f" height="%.1f" fill="#c62828"/>`, label, y+3, w, row-6)
		fmt.Fprintf(&b, `<text x="%.2f" y="%.1f" class="count">%d</text>`, label+w+6, y+15, c.Count)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>Send-file audit report {{.R.From.Format "2006-01-02"}} to {{.R.To.Format "2006-01-02"}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#212121;max-width:820px;margin:2em auto;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}
.meta{color:#555}.gap{background:#fdecea;border-left:4px solid #c62828;padding:.5em .8em}
.ok{background:#e8f5e9;border-left:4px solid #2e7d32;padding:.5em .8em}
table{border-collapse:collapse;width:100%}td,th{padding:.25em .5em;border-bottom:1px solid #eee;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.total{font-size:2em;font-weight:600}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em;vertical-align:-.05em}
svg.chart{width:100%;height:auto}.axis,.label,.count{font-size:11px;fill:#555}.axis{text-anchor:end}
.label{text-anchor:middle}.code{font-size:12px;text-anchor:end;fill:#212121}.empty{color:#555;font-style:italic}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}svg.chart,table{break-inside:avoid}}
</style></head><body>
<h1>Send-file audit report</h1>
<p class="meta">Sends created from {{.R.From.Format "2006-01-02 15:04:05 MST"}} to {{.R.To.Format "2006-01-02 15:04:05 MST"}} (end excluded), with their status as of the end of the period.</p>
<h2 id="coverage">Coverage</h2>
{{range .Coverage}}<p class="{{if $.Gaps}}gap{{else}}ok{{end}}">{{.}}</p>{{end}}
<h2 id="totals">Sends by outcome</h2>
<p><span class="total" id="total-sends">{{.R.Sends}}</span> sends</p>
<table><tr><th>Outcome</th><th class="n">Sends</th></tr>
{{range .Statuses}}<tr><td><span class="swatch" style="background:{{call $.Color .}}"></span>{{.}}</td><td class="n">{{index $.R.ByStatus .}}</td></tr>{{end}}
</table>
<h2 id="per-day">Sends per day</h2>
{{.DayChart}}
<h2 id="instances">Instance results</h2>
<table><tr><th>Status</th><th class="n">Instances</th></tr>
{{range .R.Instances}}<tr><td>{{.Key}}</td><td class="n">{{.Count}}</td></tr>{{end}}
</table>
<h2 id="errors">Most frequent error codes</h2>
{{.ErrChart}}
<h2 id="files">Files and target directories pushed</h2>
<table><tr><th>File</th><th>Target directory</th><th class="n">Sends</th></tr>
{{range .R.Files}}<tr><td>{{.Name}}</td><td>{{.TargetDir}}</td><td class="n">{{.Sends}}</td></tr>{{end}}
</table>
<h2 id="disagreements">Derived and reported status disagreed</h2>
<p>{{.R.Disagreeing}} sends had an observation where the status derived by the documented rule differed from the one the cloud reported.</p>
{{if .R.Disagreements}}<table><tr><th>Send</th><th>Target</th><th>Derived</th><th>Cloud</th><th class="n">Times</th></tr>
{{range .R.Disagreements}}<tr><td>{{.InvokeID}}</td><td>{{.Target.String}}</td><td>{{.DerivedStatus}}</td><td>{{.ReportedStatus}}</td><td class="n">{{.Times}}</td></tr>{{end}}
</table>{{end}}
</body></html>
`))
