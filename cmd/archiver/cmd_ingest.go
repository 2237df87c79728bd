package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cloudassistant/sendfile-archive/audit"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/ingest/schedule"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/signing"
	"github.com/cloudassistant/sendfile-archive/store"
)

func (a *app) ingestCommand() *cobra.Command {
	var once bool
	var flags configFlags
	cmd := &cobra.Command{
		Use:   "ingest --once [--regions R1,R2] [--endpoint URL] [--config FILE]",
		Short: "one cycle over every target, then exit (0 = all ok)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !once {
				return usagef("ingest: pass --once for a single cycle, or use 'archiver run' for the daemon")
			}
			_, runner, err := a.runner(cmd, &flags)
			if err != nil {
				return err
			}
			f, isFile := a.stderr.(*os.File)
			runner.Progress = logProgress(runner.Logger, 5*time.Second, time.Now)
			if isFile && term.IsTerminal(int(f.Fd())) {
				runner.Progress = walkProgress(a.stderr)
			}
			results, err := runner.Once(cmd.Context())
			a.printResults(results)
			if err != nil {
				return fmt.Errorf("ingest: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "run one cycle over every target and exit (required)")
	flags.register(cmd, false)
	return cmd
}

// runner builds the config from cmd's flags, opens the store and returns
// the runner the config describes.
func (a *app) runner(cmd *cobra.Command, flags *configFlags) (config, *ingest.Runner, error) {
	cfg, err := flags.build(cmd)
	if err != nil {
		return cfg, nil, err
	}
	logger, err := a.logger()
	if err != nil {
		return cfg, nil, err
	}
	st, err := a.store(cmd.Context())
	if err != nil {
		return cfg, nil, err
	}
	return cfg, &ingest.Runner{Store: st, Regions: cfg.Regions, Accounts: runnerAccounts(cfg.Accounts), Logger: logger,
		RateLimit:        cfg.RateLimit,
		Concurrency:      cfg.Concurrency,
		ReconcileEvery:   cfg.ReconcileEvery.Duration,
		HashOnlyContents: cfg.Contents == "hashes", API: source.Options{Endpoint: cfg.Endpoint, Timeout: cfg.Timeout.Duration}}, nil
}

// runnerAccounts turns the config file's accounts into the runner's.
func runnerAccounts(accounts []accountConfig) []ingest.Account {
	var out []ingest.Account
	for _, a := range accounts {
		acct := ingest.Account{Name: a.Name, Profile: a.Profile, Regions: a.Regions}
		for _, src := range a.Sources {
			acct.Sources = append(acct.Sources, model.SourceID(src))
		}
		if a.RoleARN != "" {
			acct.Role = &source.Role{ARN: a.RoleARN, ExternalID: a.ExternalID}
		}
		out = append(out, acct)
	}
	return out
}

func (a *app) printResults(results []ingest.Result) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tOUTCOME\tPAGES\tRECORDS\tEVENTS\tAPI CALLS\tRETRIES\tEXPIRED\tDURATION")
	for _, r := range results {
		outcome := string(r.Outcome())
		switch {
		case r.Skipped && r.Target.Retired:
			outcome = "skipped (retired)"
		case r.Skipped:
			outcome = "skipped (lease held elsewhere)"
		}
		dur := ""
		if r.Run.FinishedAt != nil {
			dur = r.Run.FinishedAt.Sub(r.Run.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", r.Target.String(), outcome, r.Run.Pages, r.Run.Records,
			r.Run.Events, r.Run.APICalls, r.Run.Retries, r.Run.Expired, dur)
	}
	_ = tw.Flush()
}

func (a *app) runCommand() *cobra.Command {
	var flags configFlags
	cmd := &cobra.Command{
		Use:   "run [--schedule CRON] [--listen ADDR] [--regions R1,R2] [--endpoint URL] [--config FILE]",
		Short: "daemon: cycles on a cron schedule, serves /healthz and /metrics",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, runner, err := a.runner(cmd, &flags)
			if err != nil {
				return err
			}
			runner.Progress = logProgress(runner.Logger, 30*time.Second, time.Now)
			d := &schedule.Daemon{Runner: runner, Schedule: cfg.Schedule, Listen: cfg.Listen, Logger: runner.Logger,
				StaleAfter: time.Duration(cfg.StaleFraction * float64(cfg.Retention.Duration))}
			if d.AfterCycle, err = checkpointer(runner.Store, cfg); err != nil {
				return err
			}
			return d.Run(cmd.Context())
		},
	}
	flags.register(cmd, true)
	return cmd
}

func (a *app) migrateCommand() *cobra.Command {
	var destroy bool
	cmd := &cobra.Command{
		Use:   "migrate [up|down|status]",
		Short: "apply the embedded migrations (default: up); run as the archive's owner",
		Long: "Apply the embedded migrations (default: up). Run it as the archive's owner (the role that created\n" +
			"the archive, or a superuser), not as the archiver's writer login. `down` rolls back one migration and\n" +
			"refuses to roll back the one that holds the archived events unless --destroy-archive is given.",
		ValidArgs: []string{"up", "down", "status"},
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("migrate: expected one of up, down, status")
			}
			if len(args) == 1 && args[0] != "up" && args[0] != "down" && args[0] != "status" {
				return usagef("migrate: the action must be up, down or status, not %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			action := "up"
			if len(args) == 1 {
				action = args[0]
			}
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			return a.migrate(cmd, st, action, destroy)
		},
	}
	cmd.Flags().BoolVar(&destroy, "destroy-archive", false, "with down: allow rolling back the migration that holds every archived event")
	return cmd
}

func (a *app) migrate(cmd *cobra.Command, st *store.Store, action string, destroy bool) error {
	ctx := cmd.Context()
	switch action {
	case "up":
		res, err := st.MigrateUp(ctx)
		if err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		if len(res) == 0 {
			fmt.Fprintln(a.stdout, "schema is up to date")
		}
		for _, r := range res {
			fmt.Fprintf(a.stdout, "applied %s (%s)\n", r.Path, r.Duration.Round(time.Millisecond))
		}
	case "down":
		res, err := st.MigrateDown(ctx, destroy)
		if errors.Is(err, store.ErrWouldDestroy) {
			return usageError{fmt.Errorf("migrate down: %w", err)}
		}
		if err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
		fmt.Fprintf(a.stdout, "rolled back %s\n", res.Path)
	case "status":
		sts, err := st.MigrationStatus(ctx)
		if err != nil {
			return fmt.Errorf("migrate status: %w", err)
		}
		for _, s := range sts {
			applied := "pending"
			if s.AppliedAt != nil {
				applied = "applied " + s.AppliedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(a.stdout, "%-40s %s\n", s.Path, applied)
		}
	}
	return nil
}

// checkpointer returns what the daemon runs after each cycle to write a
// checkpoint into the configured directory once one is due (nil when no
// directory is configured). The interval counts from the last checkpoint the
// archive recorded, so restarts do not reset it.
func checkpointer(st *store.Store, cfg config) (func(ctx context.Context) error, error) {
	if cfg.CheckpointDir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(cfg.CheckpointDir, 0o755); err != nil {
		return nil, usageError{fieldError{"checkpoint_dir", err}}
	}
	var key ed25519.PrivateKey
	if cfg.CheckpointKey != "" {
		k, err := signing.LoadPrivateKey(cfg.CheckpointKey)
		if err != nil {
			return nil, usageError{fieldError{"checkpoint_key", err}}
		}
		key = k
	}
	return func(ctx context.Context) error {
		last, err := st.LastCheckpoint(ctx)
		if err != nil || time.Since(last) < cfg.CheckpointEvery.Duration {
			return err
		}
		now := time.Now()
		_, err = audit.MakeCheckpoint(ctx, st, checkpointPath(cfg.CheckpointDir, now), key, now)
		return err
	}, nil
}
