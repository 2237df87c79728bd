package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/cloudassistant/sendfile-archive/query"
)

func cmdStatus(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "status", "status --invoke-id ID [--at T] [--known-at T] [--format table|json]")
	invokeID := fs.String("invoke-id", "", "the send's InvokeId, e.g. f-hz0jdfwd9f**** (required)")
	atFlag := fs.String("at", "", "valid time, RFC 3339 (default now)")
	knownFlag := fs.String("known-at", "", "answer as the archive knew it at this time, RFC 3339 (default: everything recorded)")
	format := fs.String("format", "table", "table or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *invokeID == "" {
		return usagef("status: --invoke-id is required")
	}
	if err := oneOf("format", *format, "table", "json"); err != nil {
		return err
	}
	at, err := parseAt(*atFlag)
	if err != nil {
		return err
	}
	var knownAt *time.Time
	if *knownFlag != "" {
		t, err := parseTime("known-at", *knownFlag)
		if err != nil {
			return err
		}
		knownAt = &t
	}
	st, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := (&query.Querier{Store: st}).Status(ctx, *invokeID, at, knownAt)
	if err != nil {
		return err
	}
	if *format == "json" {
		return writeJSON(e.stdout, s)
	}
	known := "everything recorded"
	if s.KnownAt != nil {
		known = s.KnownAt.Format(time.RFC3339)
	}
	fmt.Fprintf(e.stdout, "send %s (%s) at %s, as known at %s\n", s.InvokeID, s.Region, s.At.Format(time.RFC3339), known)
	fmt.Fprintf(e.stdout, "status: %s (cloud reported: %s)\n\n", s.Status, orDash(s.ReportedStatus))
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tSTATUS\tSINCE\tERROR CODE\tERROR INFO")
	for _, in := range s.Instances {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", in.InstanceID, in.Status, in.Since.Format(time.RFC3339),
			orDash(in.ErrorCode), orDash(in.ErrorInfo))
	}
	return tw.Flush()
}

// historyEvent is one line of `history`, in the contract's field names.
type historyEvent struct {
	Seq        int64     `json:"seq"`
	Type       string    `json:"type"`
	InstanceID *string   `json:"instance_id"`
	FromStatus *string   `json:"from_status"`
	ToStatus   *string   `json:"to_status"`
	OccurredAt time.Time `json:"occurred_at"`
	RecordedAt time.Time `json:"recorded_at"`
	Evidence   string    `json:"evidence"`
}

func cmdHistory(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "history", "history --invoke-id ID [--format table|json|csv]")
	invokeID := fs.String("invoke-id", "", "the send's InvokeId (required)")
	format := fs.String("format", "table", "table, json or csv")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *invokeID == "" {
		return usagef("history: --invoke-id is required")
	}
	if err := oneOf("format", *format, "table", "json", "csv"); err != nil {
		return err
	}
	st, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	events, err := (&query.Querier{Store: st}).History(ctx, *invokeID)
	if err != nil {
		return err
	}
	out := make([]historyEvent, 0, len(events))
	for _, ev := range events {
		out = append(out, historyEvent{Seq: ev.Seq, Type: ev.Type, InstanceID: nullStr(ev.InstanceID),
			FromStatus: nullStr(ev.FromStatus), ToStatus: nullStr(ev.ToStatus), OccurredAt: ev.OccurredAt,
			RecordedAt: ev.RecordedAt, Evidence: ev.Evidence})
	}
	switch *format {
	case "json":
		return writeJSON(e.stdout, out)
	case "csv":
		w := csv.NewWriter(e.stdout)
		_ = w.Write([]string{"seq", "type", "instance_id", "from_status", "to_status", "occurred_at", "recorded_at", "evidence"})
		for _, h := range out {
			_ = w.Write([]string{strconv.FormatInt(h.Seq, 10), h.Type, deref(h.InstanceID), deref(h.FromStatus),
				deref(h.ToStatus), h.OccurredAt.Format(time.RFC3339Nano), h.RecordedAt.Format(time.RFC3339Nano), h.Evidence})
		}
		w.Flush()
		return w.Error()
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tOCCURRED AT\tTYPE\tINSTANCE\tFROM\tTO\tEVIDENCE\tRECORDED AT")
	for _, h := range out {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Seq, h.OccurredAt.Format(time.RFC3339), h.Type,
			orDash(deref(h.InstanceID)), orDash(deref(h.FromStatus)), orDash(deref(h.ToStatus)), h.Evidence,
			h.RecordedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func cmdReport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "report", "report [--at T] [--format table|json|csv]")
	atFlag := fs.String("at", "", "valid time, RFC 3339 (default now)")
	format := fs.String("format", "table", "table, json or csv")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := oneOf("format", *format, "table", "json", "csv"); err != nil {
		return err
	}
	at, err := parseAt(*atFlag)
	if err != nil {
		return err
	}
	st, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rows, err := (&query.Querier{Store: st}).Report(ctx, at)
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		return writeJSON(e.stdout, map[string]any{"at": at, "counts": rows})
	case "csv":
		w := csv.NewWriter(e.stdout)
		_ = w.Write([]string{"at", "region", "status", "sends"})
		for _, r := range rows {
			_ = w.Write([]string{at.Format(time.RFC3339), r.Region, r.Status, strconv.FormatInt(r.Sends, 10)})
		}
		w.Flush()
		return w.Error()
	}
	fmt.Fprintf(e.stdout, "sends by status at %s\n\n", at.Format(time.RFC3339))
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tSTATUS\tSENDS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", r.Region, r.Status, r.Sends)
	}
	return tw.Flush()
}

func cmdVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "verify", "verify")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	started := time.Now()
	rep, err := (&query.Querier{Store: st}).Verify(ctx)
	if err != nil {
		return err
	}
	if !rep.OK() {
		for _, p := range rep.Problems {
			fmt.Fprintf(e.stdout, "BROKEN %s\n", p)
		}
		return fmt.Errorf("verify: %d of %d chains are broken; the first bad event of each is listed above",
			len(rep.Problems), rep.Targets)
	}
	fmt.Fprintf(e.stdout, "ok: %d events in %d chains check out (%s)\n", rep.Events, rep.Targets,
		time.Since(started).Round(time.Millisecond))
	return nil
}

func cmdCoverage(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "coverage", "coverage [--format table|json]")
	format := fs.String("format", "table", "table or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := oneOf("format", *format, "table", "json"); err != nil {
		return err
	}
	st, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	targets, err := st.Targets(ctx)
	if err != nil {
		return err
	}
	runs, err := st.Runs(ctx)
	if err != nil {
		return err
	}
	cov := query.Coverage(targets, runs)
	if *format == "json" {
		return writeJSON(e.stdout, cov)
	}
	for _, c := range cov {
		from, last := "-", "-"
		if c.CoveredFrom != nil {
			from = c.CoveredFrom.Format(time.RFC3339)
		}
		if c.LastComplete != nil {
			last = c.LastComplete.Format(time.RFC3339)
		}
		fmt.Fprintf(e.stdout, "%s: %d runs (%d complete walks, %d failed); covered from %s; last complete walk %s\n",
			c.Target.String(), c.Runs, c.CompleteWalks, c.FailedRuns, from, last)
		if len(c.Gaps) == 0 {
			fmt.Fprintln(e.stdout, "  no gaps: every record created since coverage began was listed by some walk")
			continue
		}
		for _, g := range c.Gaps {
			fmt.Fprintf(e.stdout, "  GAP %s .. %s (%s): records created then may have been evicted unseen\n",
				g.From.Format(time.RFC3339), g.To.Format(time.RFC3339), g.Span.Round(time.Second))
		}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func nullStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
