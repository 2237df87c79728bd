package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/ingest/schedule"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/migrations"
)

// ingestFlags registers the flags `ingest` and `run` share and returns a
// function that builds the validated config after parsing.
func ingestFlags(fs *flag.FlagSet, withDaemon bool) func() (config, error) {
	regions := fs.String("regions", "", "comma-separated region ids to archive (default $ARCHIVER_REGIONS)")
	endpoint := fs.String("endpoint", "", "API endpoint URL instead of the region's public endpoint, e.g. http://127.0.0.1:8099 (default $ARCHIVER_ENDPOINT)")
	file := fs.String("config", "", "JSON config file with regions, endpoint, schedule, listen, timeout")
	timeout := fs.Duration("timeout", 0, "timeout of one API call (default 15s)")
	var sched, listen *string
	if withDaemon {
		sched = fs.String("schedule", "", "cron schedule, e.g. \"*/10 * * * *\" or \"@every 5m\" (default $ARCHIVER_SCHEDULE or */10 * * * *)")
		listen = fs.String("listen", "", "address for /healthz and /metrics (default $ARCHIVER_LISTEN or :9090; \"off\" disables)")
	}
	return func() (config, error) {
		cfg := defaultConfig()
		if *file != "" {
			if err := cfg.loadFile(*file); err != nil {
				return cfg, err
			}
		}
		cfg.loadEnv()
		if *regions != "" {
			cfg.Regions = splitList(*regions)
		}
		if *endpoint != "" {
			cfg.Endpoint = *endpoint
		}
		if *timeout != 0 {
			cfg.Timeout.Duration = *timeout
		}
		if withDaemon {
			if *sched != "" {
				cfg.Schedule = *sched
			}
			if *listen != "" {
				cfg.Listen = *listen
			}
			if cfg.Listen == "off" {
				cfg.Listen = ""
			}
		}
		return cfg, cfg.Validate(withDaemon)
	}
}

func cmdIngest(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "ingest", "ingest --once [--regions R1,R2] [--endpoint URL] [--config FILE]")
	once := fs.Bool("once", false, "run one cycle over every target and exit (required)")
	build := ingestFlags(fs, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !*once {
		return usagef("ingest: pass --once for a single cycle, or use 'archiver run' for the daemon")
	}
	cfg, err := build()
	if err != nil {
		return err
	}
	st, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	runner := &ingest.Runner{Store: st, Regions: cfg.Regions, Logger: e.logger(), NewSource: sourceFactory(cfg)}
	results, err := runner.Once(ctx)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tOUTCOME\tPAGES\tRECORDS\tEVENTS\tAPI CALLS\tRETRIES\tEXPIRED\tDURATION")
	for _, r := range results {
		outcome := r.Run.Outcome
		switch {
		case r.Skipped:
			outcome = "skipped (lease held elsewhere)"
		case r.Err != nil:
			outcome = "failed"
		}
		dur := ""
		if r.Run.FinishedAt != nil {
			dur = r.Run.FinishedAt.Sub(r.Run.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", r.Target.String(), outcome, r.Run.Pages, r.Run.Records,
			r.Run.Events, r.Run.APICalls, r.Run.Retries, r.Run.Expired, dur)
	}
	_ = tw.Flush()
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	return nil
}

func sourceFactory(cfg config) func(region string) (ingest.Source, error) {
	return func(region string) (ingest.Source, error) {
		return source.NewClient(region, source.Options{Endpoint: cfg.Endpoint, Timeout: cfg.Timeout.Duration})
	}
}

func cmdRun(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "run", "run [--schedule CRON] [--listen ADDR] [--regions R1,R2] [--endpoint URL] [--config FILE]")
	build := ingestFlags(fs, true)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := build()
	if err != nil {
		return err
	}
	st, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	logger := e.logger()
	d := &schedule.Daemon{
		Runner:   &ingest.Runner{Store: st, Regions: cfg.Regions, Logger: logger, NewSource: sourceFactory(cfg)},
		Schedule: cfg.Schedule, Listen: cfg.Listen, Logger: logger,
	}
	return d.Run(ctx)
}

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "migrate", "migrate [up|down|status]")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return err
		}
		return usagef("migrate: %v", err)
	}
	action := "up"
	if fs.NArg() > 1 {
		return usagef("migrate: expected one of up, down, status")
	}
	if fs.NArg() == 1 {
		action = fs.Arg(0)
	}
	if err := oneOf("migrate action", action, "up", "down", "status"); err != nil {
		return usagef("migrate: the action must be up, down or status, not %q", action)
	}
	st, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	db := stdlib.OpenDBFromPool(st.Pool())
	defer db.Close()
	return migrate(ctx, e, db, action)
}

func migrate(ctx context.Context, e *env, db *sql.DB, action string) error {
	p, err := migrations.NewProvider(db)
	if err != nil {
		return err
	}
	switch action {
	case "up":
		res, err := p.Up(ctx)
		if err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		if len(res) == 0 {
			fmt.Fprintln(e.stdout, "schema is up to date")
		}
		for _, r := range res {
			fmt.Fprintf(e.stdout, "applied %s (%s)\n", r.Source.Path, r.Duration.Round(time.Millisecond))
		}
	case "down":
		res, err := p.Down(ctx)
		if err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
		fmt.Fprintf(e.stdout, "rolled back %s\n", res.Source.Path)
	case "status":
		sts, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("migrate status: %w", err)
		}
		for _, s := range sts {
			applied := "pending"
			if s.State == "applied" {
				applied = "applied " + s.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(e.stdout, "%-40s %s\n", s.Source.Path, applied)
		}
	}
	return nil
}

func (e *env) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
