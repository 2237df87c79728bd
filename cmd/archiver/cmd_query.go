package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/report"
	"github.com/cloudassistant/sendfile-archive/store"
)

func (a *app) statusCommand() *cobra.Command {
	var invokeID, atFlag, knownFlag, format string
	cmd := &cobra.Command{
		Use:   "status --invoke-id ID [--at T] [--known-at T] [--format table|json]",
		Short: "status of a send and each instance at a time",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if invokeID == "" {
				return usagef("status: --invoke-id is required")
			}
			if err := oneOf("format", format, "table", "json"); err != nil {
				return err
			}
			at, err := parseAt(atFlag)
			if err != nil {
				return err
			}
			var knownAt *time.Time
			if knownFlag != "" {
				t, err := parseTime("known-at", knownFlag)
				if err != nil {
					return err
				}
				knownAt = &t
			}
			q, err := a.querier(cmd)
			if err != nil {
				return err
			}
			s, err := q.Status(cmd.Context(), invokeID, at, knownAt)
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(a.stdout, s)
			}
			return a.printStatus(s)
		},
	}
	cmd.Flags().StringVar(&invokeID, "invoke-id", "", "the send's InvokeId, e.g. f-hz0jdfwd9f**** (required)")
	cmd.Flags().StringVar(&atFlag, "at", "", "valid time, RFC 3339 (default now)")
	cmd.Flags().StringVar(&knownFlag, "known-at", "", "answer as the archive knew it at this time, RFC 3339 (default: everything recorded)")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

// querier opens the store for a command that reads the archive.
func (a *app) querier(cmd *cobra.Command) (*query.Querier, error) {
	st, err := a.store(cmd.Context())
	if err != nil {
		return nil, err
	}
	return &query.Querier{Store: st}, nil
}

func (a *app) printStatus(s query.Status) error {
	known := "everything recorded"
	if s.KnownAt != nil {
		known = s.KnownAt.Format(time.RFC3339)
	}
	fmt.Fprintf(a.stdout, "send %s (%s) at %s, as known at %s\n", s.InvokeID, s.Region, s.At.Format(time.RFC3339), known)
	fmt.Fprintf(a.stdout, "status: %s (cloud reported: %s)\n\n", s.Status, orDash(string(s.ReportedStatus)))
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tSTATUS\tSINCE\tERROR CODE\tERROR INFO")
	for _, in := range s.Instances {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", in.InstanceID, in.Status, in.Since.Format(time.RFC3339),
			orDash(in.ErrorCode), orDash(in.ErrorInfo))
	}
	return tw.Flush()
}

// historyEvent is one line of `history`, in the contract's field names.
type historyEvent struct {
	Seq        int64           `json:"seq"`
	Type       model.EventType `json:"type"`
	InstanceID *string         `json:"instance_id"`
	FromStatus *string         `json:"from_status"`
	ToStatus   *string         `json:"to_status"`
	OccurredAt time.Time       `json:"occurred_at"`
	RecordedAt time.Time       `json:"recorded_at"`
	Evidence   model.Evidence  `json:"evidence"`
}

func (a *app) historyCommand() *cobra.Command {
	var invokeID, format string
	cmd := &cobra.Command{
		Use:   "history --invoke-id ID [--format table|json|csv]",
		Short: "every event of a send, in order",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if invokeID == "" {
				return usagef("history: --invoke-id is required")
			}
			if err := oneOf("format", format, "table", "json", "csv"); err != nil {
				return err
			}
			q, err := a.querier(cmd)
			if err != nil {
				return err
			}
			events, err := q.History(cmd.Context(), invokeID)
			if err != nil {
				return err
			}
			return a.printHistory(events, format)
		},
	}
	cmd.Flags().StringVar(&invokeID, "invoke-id", "", "the send's InvokeId (required)")
	cmd.Flags().StringVar(&format, "format", "table", "table, json or csv")
	return cmd
}

func (a *app) printHistory(events []store.StoredEvent, format string) error {
	out := make([]historyEvent, 0, len(events))
	for _, ev := range events {
		out = append(out, historyEvent{Seq: ev.Seq, Type: ev.Type, InstanceID: nullStr(ev.InstanceID),
			FromStatus: nullStr(string(ev.FromStatus)), ToStatus: nullStr(string(ev.ToStatus)), OccurredAt: ev.OccurredAt,
			RecordedAt: ev.RecordedAt, Evidence: ev.Evidence})
	}
	switch format {
	case "json":
		return writeJSON(a.stdout, out)
	case "csv":
		w := csv.NewWriter(a.stdout)
		_ = w.Write([]string{"seq", "type", "instance_id", "from_status", "to_status", "occurred_at", "recorded_at", "evidence"})
		for _, h := range out {
			_ = w.Write([]string{strconv.FormatInt(h.Seq, 10), string(h.Type), deref(h.InstanceID), deref(h.FromStatus),
				deref(h.ToStatus), h.OccurredAt.Format(time.RFC3339Nano), h.RecordedAt.Format(time.RFC3339Nano), string(h.Evidence)})
		}
		w.Flush()
		return w.Error()
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tOCCURRED AT\tTYPE\tINSTANCE\tFROM\tTO\tEVIDENCE\tRECORDED AT")
	for _, h := range out {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Seq, h.OccurredAt.Format(time.RFC3339), h.Type,
			orDash(deref(h.InstanceID)), orDash(deref(h.FromStatus)), orDash(deref(h.ToStatus)), h.Evidence,
			h.RecordedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func (a *app) reportCommand() *cobra.Command {
	var atFlag, fromFlag, toFlag, format, out string
	cmd := &cobra.Command{
		Use:   "report [--at T] | --from T --to T [--format table|json|csv|html] [--out FILE]",
		Short: "fleet-wide counts by status at a time, or the period audit report",
		Long: "With --at (default now): every send's derived status at that instant, counted per target.\n" +
			"With --from and --to: the period audit report of the sends created in [from, to): coverage first, outcomes per\n" +
			"day and in total, instance results, the most frequent error codes, the files pushed, and disagreements with the\n" +
			"cloud's reported status. --format html writes one self-contained page (charts inline, nothing fetched).",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fromFlag != "" || toFlag != "" {
				if atFlag != "" {
					return usagef("report: give --at, or --from and --to, not both")
				}
				return a.periodReport(cmd, fromFlag, toFlag, format, out)
			}
			if err := oneOf("format", format, "table", "json", "csv"); err != nil {
				return err
			}
			if out != "" {
				return usagef("report: --out goes with the period report (--from and --to)")
			}
			at, err := parseAt(atFlag)
			if err != nil {
				return err
			}
			q, err := a.querier(cmd)
			if err != nil {
				return err
			}
			rows, err := q.Report(cmd.Context(), at)
			if err != nil {
				return err
			}
			return a.printReport(at, rows, format)
		},
	}
	cmd.Flags().StringVar(&atFlag, "at", "", "valid time, RFC 3339 (default now)")
	cmd.Flags().StringVar(&fromFlag, "from", "", "start of the audited period, RFC 3339 (inclusive)")
	cmd.Flags().StringVar(&toFlag, "to", "", "end of the audited period, RFC 3339 (exclusive)")
	cmd.Flags().StringVar(&format, "format", "table", "table, json or csv; html for the period report")
	cmd.Flags().StringVar(&out, "out", "", "write the period report to this new file instead of standard output")
	return cmd
}

// periodReport renders the period audit report.
func (a *app) periodReport(cmd *cobra.Command, fromFlag, toFlag, format, out string) error {
	if fromFlag == "" || toFlag == "" {
		return usagef("report: the period report needs both --from and --to")
	}
	from, err := parseTime("from", fromFlag)
	if err != nil {
		return err
	}
	to, err := parseTime("to", toFlag)
	if err != nil {
		return err
	}
	if !from.Before(to) {
		return usagef("report: --from %s is not before --to %s (periods are [from, to))", fromFlag, toFlag)
	}
	if err := oneOf("format", format, "table", "json", "csv", "html"); err != nil {
		return err
	}
	q, err := a.querier(cmd)
	if err != nil {
		return err
	}
	r, err := q.Period(cmd.Context(), from, to)
	if err != nil {
		return err
	}
	render := map[string]func(io.Writer, query.PeriodReport) error{
		"table": report.Text, "json": report.JSON, "csv": report.CSV, "html": report.HTML}[format]
	if out == "" {
		return render(a.stdout, r)
	}
	var buf bytes.Buffer
	if err := render(&buf, r); err != nil {
		return err
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("report: %w (reports are never written over an existing file)", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		_ = f.Close()
		return fmt.Errorf("report: write %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: write %s: %w", out, err)
	}
	fmt.Fprintf(a.stdout, "wrote %s (%d sends created from %s to %s)\n", out, r.Sends, from.Format(time.RFC3339), to.Format(time.RFC3339))
	return nil
}

func (a *app) printReport(at time.Time, rows []query.ReportRow, format string) error {
	switch format {
	case "json":
		return writeJSON(a.stdout, map[string]any{"at": at, "counts": rows})
	case "csv":
		w := csv.NewWriter(a.stdout)
		_ = w.Write([]string{"at", "account", "region", "source", "status", "sends"})
		for _, r := range rows {
			_ = w.Write([]string{at.Format(time.RFC3339), r.Account, r.Region, string(r.Source), string(r.Status),
				strconv.FormatInt(r.Sends, 10)})
		}
		w.Flush()
		return w.Error()
	}
	fmt.Fprintf(a.stdout, "sends by status at %s\n\n", at.Format(time.RFC3339))
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tREGION\tSOURCE\tSTATUS\tSENDS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", orDash(r.Account), r.Region, r.Source, r.Status, r.Sends)
	}
	return tw.Flush()
}

func (a *app) coverageCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "coverage [--format table|json]",
		Short: "ingest runs, gaps, and whether any gap risks lost records (exit 4 on a gap)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := oneOf("format", format, "table", "json"); err != nil {
				return err
			}
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			targets, err := st.Targets(cmd.Context())
			if err != nil {
				return err
			}
			runs, err := st.Runs(cmd.Context())
			if err != nil {
				return err
			}
			cov := query.Coverage(targets, runs)
			if format == "json" {
				err = writeJSON(a.stdout, cov)
			} else {
				a.printCoverage(cov)
			}
			if err == nil {
				err = gapError(cov)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func (a *app) printCoverage(cov []query.TargetCoverage) {
	for _, c := range cov {
		from, last := "-", "-"
		if c.CoveredFrom != nil {
			from = c.CoveredFrom.Format(time.RFC3339)
		}
		if c.LastComplete != nil {
			last = c.LastComplete.Format(time.RFC3339)
		}
		if c.Tracked {
			fmt.Fprintf(a.stdout, "%s: %d runs (%d failed); coverage not applicable\n", c.Target.String(), c.Runs, c.FailedRuns)
			fmt.Fprintln(a.stdout, "  a tracked source: tasks are polled by id once registered (archiver track), not listed")
			continue
		}
		fmt.Fprintf(a.stdout, "%s: %d runs (%d complete walks, %d failed); covered from %s; last complete walk %s\n",
			c.Target.String(), c.Runs, c.CompleteWalks, c.FailedRuns, from, last)
		if c.CompleteWalks == 0 {
			fmt.Fprintln(a.stdout, "  no complete walk yet: nothing can be said about lost records")
			continue
		}
		if len(c.Gaps) == 0 {
			fmt.Fprintln(a.stdout, "  no gaps: every record created since coverage began was listed by some walk")
			continue
		}
		for _, g := range c.Gaps {
			fmt.Fprintf(a.stdout, "  GAP %s .. %s (%s): records created then may have been evicted unseen\n",
				g.From.Format(time.RFC3339), g.To.Format(time.RFC3339), g.Span.Round(time.Second))
		}
	}
}

// gapError is exit 4 when any target has a gap.
func gapError(cov []query.TargetCoverage) error {
	gaps := 0
	for _, c := range cov {
		gaps += len(c.Gaps)
	}
	if gaps == 0 {
		return nil
	}
	return exitError{exitGap, fmt.Errorf("coverage: %d gaps in which records may have been lost; see above", gaps)}
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
