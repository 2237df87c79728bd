package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/cloudassistant/sendfile-archive/store"
)

// progress returns how a long command reports how far it has come on
// stderr: a progress bar per stage on a terminal, otherwise a plain line at
// most every few seconds (and at the end of each stage), which logs keep.
func (a *app) progress() func(stage string, done, total int64) {
	if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return a.progressBar()
	}
	var last time.Time
	started := time.Now()
	return func(stage string, done, total int64) {
		finished := total >= 0 && done == total
		if !finished && time.Since(last) < 5*time.Second {
			return
		}
		last = time.Now()
		rate := float64(done) / max(time.Since(started).Seconds(), 0.001)
		if total >= 0 {
			fmt.Fprintf(a.stderr, "archiver: %s: %d of %d (%.0f/s)\n", stage, done, total, rate)
			return
		}
		fmt.Fprintf(a.stderr, "archiver: %s: %d so far (%.0f/s)\n", stage, done, rate)
	}
}

// progressBar shows one stage at a time on the bar line: the first to
// report takes it until it finishes. Stages running alongside (an export
// writes its events and its sends at once) report on a line of their own
// when they finish.
func (a *app) progressBar() func(stage string, done, total int64) {
	var bar *progressbar.ProgressBar
	var current string
	return func(stage string, done, total int64) {
		finished := total >= 0 && done == total
		if bar == nil {
			current = stage
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(a.stderr), progressbar.OptionSetDescription(stage),
				progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(200*time.Millisecond))
		}
		if stage != current {
			if finished {
				_ = bar.Clear()
				fmt.Fprintf(a.stderr, "%s: %d done\n", stage, done)
			}
			return
		}
		if total >= 0 && total != bar.GetMax64() {
			// The total arrives once counted, after the first reports.
			bar.ChangeMax64(total)
		}
		_ = bar.Set64(done)
		if finished {
			_ = bar.Finish()
			fmt.Fprintln(a.stderr)
			bar, current = nil, ""
		}
	}
}

// walkProgress reports how far each target's cycle has come, after every
// page it stores, as a spinner with the counts: for a terminal. Elsewhere
// (a log, a pipe) logProgress says it in the log's own format.
func walkProgress(w io.Writer) func(store.Target, store.Run) {
	var mu sync.Mutex
	var bar *progressbar.ProgressBar
	var current int64
	return func(t store.Target, run store.Run) {
		mu.Lock()
		defer mu.Unlock()
		if bar == nil || current != t.ID {
			bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
				progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetItsString("pages"),
				progressbar.OptionShowIts(), progressbar.OptionClearOnFinish())
			current = t.ID
		}
		bar.Describe(fmt.Sprintf("%s: %d records, %d events", t, run.Records, run.Events))
		_ = bar.Set64(int64(run.Pages))
	}
}

// logProgress logs a target's progress (pages, records, events, rate) at
// most every `every`: a backfill of thousands of pages is otherwise silent
// for minutes.
func logProgress(logger *slog.Logger, every time.Duration, now func() time.Time) func(store.Target, store.Run) {
	var mu sync.Mutex
	last := map[int64]time.Time{}
	return func(t store.Target, run store.Run) {
		mu.Lock()
		defer mu.Unlock()
		at := now()
		if at.Sub(last[t.ID]) < every {
			return
		}
		last[t.ID] = at
		rate := float64(run.Events) / max(at.Sub(run.StartedAt).Seconds(), 0.001)
		logger.Info("walking", "target", t.String(), "pages", run.Pages, "records", run.Records, "events", run.Events,
			"events_per_second", int64(rate))
	}
}
