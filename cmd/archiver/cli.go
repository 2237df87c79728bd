package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudassistant/sendfile-archive/store"
)

// Exit codes: part of the command-line contract (DESIGN.md §5).
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitNotFound = 3
	exitGap      = 4
	exitMismatch = 5
)

// usageError is a mistake in how the command was called (exit 2). It keeps
// what caused it in the error chain.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitError ends a command with a specific exit code after it has printed
// what it found (a coverage gap, a verification mismatch).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// app is what every command shares: where to write, the global options, and
// the one store every command that needs the database opens.
type app struct {
	stdout, stderr io.Writer
	databaseURL    string
	log            logOptions
	st             *store.Store
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if a.st != nil {
		a.st.Close()
	}
	return a.exit(err)
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "archiver",
		Short: "Keeps every Cloud Assistant send-file status transition in PostgreSQL, long after the cloud forgets it.",
		Long: "Keeps every Cloud Assistant send-file status transition in PostgreSQL, long after the cloud forgets it.\n\n" +
			"The database URL defaults to $DATABASE_URL. Credentials for the cloud come from the standard Alibaba Cloud\n" +
			"chain (ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET, profile, RAM role).",
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q; run 'archiver --help' for the commands", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(a.stderr)
			_ = cmd.Usage()
			return exitError{code: exitUsage, err: errors.New("")}
		},
	}
	root.PersistentFlags().StringVar(&a.databaseURL, "database-url", "", "PostgreSQL URL (default $DATABASE_URL)")
	a.log.register(root)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usagef("%s: %v; run '%s --help'", cmd.Name(), err, cmd.CommandPath())
	})
	root.AddCommand(a.migrateCommand(), a.ingestCommand(), a.runCommand(), a.statusCommand(), a.historyCommand(),
		a.reportCommand(), a.exportCommand(), a.verifyCommand(), a.verifyExportCommand(), a.checkpointCommand(),
		a.keygenCommand(), a.rebuildCommand(), a.coverageCommand(), a.targetsCommand(), a.trackCommand(), a.simCommand(), a.demoCommand())
	return root
}

// exit maps an error to its exit code and prints it once, as one line.
func (a *app) exit(err error) int {
	if err == nil {
		return exitOK
	}
	code := exitFailure
	var ue usageError
	var ee exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case errors.As(err, &ue):
		code = exitUsage
	case errors.Is(err, store.ErrNotFound):
		code = exitNotFound
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(a.stderr, "archiver: %s\n", msg)
	}
	return code
}

// store opens the archive database named by --database-url or $DATABASE_URL,
// once per process; run closes it.
func (a *app) store(ctx context.Context) (*store.Store, error) {
	if a.st != nil {
		return a.st, nil
	}
	url := a.dbURL()
	if url == "" {
		return nil, usagef("no database: pass --database-url or set DATABASE_URL")
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	a.st = st
	return st, nil
}

// dbURL is --database-url, else $DATABASE_URL.
func (a *app) dbURL() string { return firstNonEmpty(a.databaseURL, os.Getenv("DATABASE_URL")) }

// noArgs rejects stray positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s: unexpected argument %q; run '%s --help'", cmd.Name(), args[0], cmd.CommandPath())
	}
	return nil
}

// version is the build's version: the module version and VCS revision Go
// recorded, or "devel".
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				v += "+dirty"
			}
		}
	}
	return v + " (" + info.GoVersion + ")"
}

// parseTime reads an RFC 3339 flag value.
func parseTime(flagName, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, usagef("--%s %q is not an RFC 3339 time such as 2026-03-01T10:00:00Z", flagName, v)
	}
	return t.UTC(), nil
}

// parseAt reads an --at value; empty means now.
func parseAt(v string) (time.Time, error) {
	if v == "" {
		return time.Now().UTC(), nil
	}
	return parseTime("at", v)
}

// oneOf validates an enumerated flag.
func oneOf(flagName, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return usagef("--%s must be one of %s, not %q", flagName, strings.Join(allowed, ", "), v)
}
