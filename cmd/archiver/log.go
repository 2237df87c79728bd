package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// logOptions are the global --log-format and --log-level flags, with
// ARCHIVER_LOG_FORMAT and ARCHIVER_LOG_LEVEL behind them. The default format,
// auto, is text on a terminal and JSON otherwise (a service manager or a log
// shipper reads stderr then).
type logOptions struct {
	format, level string
}

func (o *logOptions) register(root *cobra.Command) {
	root.PersistentFlags().StringVar(&o.format, "log-format", "", "log format: auto, text or json (default $ARCHIVER_LOG_FORMAT or auto: text on a terminal, else json)")
	root.PersistentFlags().StringVar(&o.level, "log-level", "", "log level: debug, info, warn or error (default $ARCHIVER_LOG_LEVEL or info)")
}

// logger builds the logger the options describe, writing to stderr.
func (a *app) logger() (*slog.Logger, error) {
	format := firstNonEmpty(a.log.format, os.Getenv("ARCHIVER_LOG_FORMAT"), "auto")
	level := firstNonEmpty(a.log.level, os.Getenv("ARCHIVER_LOG_LEVEL"), "info")
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("log-level: %q is not one of debug, info, warn, error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "auto":
		if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return slog.New(slog.NewTextHandler(a.stderr, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(a.stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(a.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(a.stderr, opts)), nil
	}
	return nil, usageError{fmt.Errorf("log-format: %q is not one of auto, text, json", format)}
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
