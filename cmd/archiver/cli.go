package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
)

// Exit codes: part of the command-line contract.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitNotFound = 3
)

// usageError is a mistake in how the command was called (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// env is what every command gets: where to write, and the global options.
type env struct {
	stdout, stderr io.Writer
	databaseURL    string
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"migrate", "apply the embedded migrations: migrate [up|down|status]", cmdMigrate},
		{"ingest", "one cycle over every target, then exit: ingest --once [--regions R1,R2] [--endpoint URL] [--config FILE]", cmdIngest},
		{"run", "daemon: cycles on a cron schedule, serves /healthz and /metrics", cmdRun},
		{"status", "status of a send at a time: status --invoke-id ID [--at T] [--known-at T] [--format table|json]", cmdStatus},
		{"history", "every event of a send: history --invoke-id ID [--format table|json|csv]", cmdHistory},
		{"report", "fleet-wide counts by aggregate status: report [--at T] [--format table|json|csv]", cmdReport},
		{"verify", "recompute every hash chain; exit 0 only if all check out", cmdVerify},
		{"coverage", "ingest runs, gaps, and whether any gap risks lost records", cmdCoverage},
		{"sim", "run the ECS API simulator: sim [--listen ADDR] [--seed N] ...", cmdSim},
		{"demo", "the whole story end to end, with no setup", cmdDemo},
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	global := flag.NewFlagSet("archiver", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.StringVar(&e.databaseURL, "database-url", "", "PostgreSQL URL (default $DATABASE_URL)")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return exitOK
		}
		return fail(stderr, usagef("%v; run 'archiver --help' for the commands", err))
	}
	if e.databaseURL == "" {
		e.databaseURL = os.Getenv("DATABASE_URL")
	}
	rest := global.Args()
	if len(rest) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	for _, c := range commands() {
		if c.name == rest[0] {
			return fail(stderr, c.run(ctx, e, rest[1:]))
		}
	}
	if rest[0] == "help" {
		printUsage(stdout)
		return exitOK
	}
	return fail(stderr, usagef("unknown command %q; run 'archiver --help' for the commands", rest[0]))
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: archiver [--database-url URL] <command> [flags]")
	fmt.Fprintln(w, "\nKeeps every Cloud Assistant send-file status transition in PostgreSQL, long after the cloud forgets it.")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nThe database URL defaults to $DATABASE_URL. Credentials for the cloud come from the standard")
	fmt.Fprintln(w, "Alibaba Cloud chain (ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET, profile, RAM role).")
	fmt.Fprintln(w, "Run 'archiver <command> --help' for a command's flags.")
}

// fail maps an error to its exit code and prints it as one sentence.
func fail(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "archiver: %s\n", ue.msg)
		return exitUsage
	case errors.Is(err, query.ErrNotFound):
		fmt.Fprintf(stderr, "archiver: %v\n", err)
		return exitNotFound
	case errors.Is(err, store.ErrNotMigrated):
		fmt.Fprintf(stderr, "archiver: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "archiver: %v\n", err)
	return exitFailure
}

// newFlags returns a flag set whose errors become usage errors and whose
// --help prints to stdout.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage: archiver %s\n\nFlags:\n", synopsis)
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses and rejects stray positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return err
		}
		return usagef("%s: %v; run 'archiver %s --help'", fs.Name(), err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q; run 'archiver %s --help'", fs.Name(), fs.Arg(0), fs.Name())
	}
	return nil
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

// openStore connects to the archive database named by --database-url or
// $DATABASE_URL.
func (e *env) openStore(ctx context.Context) (*store.Store, error) {
	if e.databaseURL == "" {
		return nil, usagef("no database: pass --database-url or set DATABASE_URL")
	}
	return store.Open(ctx, e.databaseURL)
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
