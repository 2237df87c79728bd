package main

import (
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
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
		_ = bar.Set64(done)
		if finished {
			_ = bar.Finish()
			fmt.Fprintln(a.stderr)
			bar, current = nil, ""
		}
	}
}
