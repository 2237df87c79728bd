// Package schedule wires the ingest runner to a robfig/cron schedule for
// `archiver run`, and serves /healthz and Prometheus /metrics beside it.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
)

// ParseSchedule accepts a standard five-field cron spec or a descriptor such
// as "@every 5m" or "@hourly".
func ParseSchedule(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return s, nil
}

// Daemon runs cycles on a schedule until its context ends.
type Daemon struct {
	Runner   *ingest.Runner
	Schedule string
	Listen   string // address for /healthz and /metrics; "" disables
	Logger   *slog.Logger
	// AfterCycle, when set, runs after every cycle that was not cut short
	// (the checkpoint writer); its errors are logged, not fatal.
	AfterCycle func(ctx context.Context) error
	// StaleAfter is exported as archiver_stale_after_seconds for the alert
	// on a last success that is too old (deploy/alerts.yml).
	StaleAfter time.Duration

	metrics *metrics
	health  health
}

// Run cycles once at start and then on the schedule, until ctx ends. A cycle
// in flight when ctx ends stops at its next step (the page transaction in
// flight rolls back) and Run returns nil. A database without the archive
// schema stops the daemon with ErrNotMigrated, at start or when a cycle
// finds it gone: no later cycle could succeed.
func (d *Daemon) Run(ctx context.Context) error {
	logger := d.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sched, err := ParseSchedule(d.Schedule)
	if err != nil {
		return err
	}
	if err := d.Runner.Store.CheckSchema(ctx); err != nil {
		return err
	}
	d.metrics = newMetrics()
	d.metrics.staleAfter.Set(d.StaleAfter.Seconds())
	stopServer, err := d.serve(logger)
	if err != nil {
		return err
	}
	defer stopServer()

	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	cycle := func() {
		results, err := d.Runner.Once(ctx)
		d.metrics.record(results)
		d.health.record(results, ctx.Err() != nil)
		for _, r := range results {
			if r.Err != nil && ctx.Err() == nil {
				logger.Error("cycle failed", "target", r.Target.String(), "err", r.Err)
			}
		}
		if errors.Is(err, store.ErrNotMigrated) {
			stop(err)
			return
		}
		// A cycle in which every target failed (the database away) changed
		// nothing to recompute, and its one line per target says it all.
		if ctx.Err() == nil && anySucceeded(results) {
			d.recordCoverage(ctx, logger)
		}
		if d.AfterCycle != nil && ctx.Err() == nil {
			if err := d.AfterCycle(ctx); err != nil {
				logger.Error("after the cycle", "err", err)
			}
		}
	}
	c := cron.New(cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	c.Schedule(sched, cron.FuncJob(cycle))
	targets := len(d.Runner.Regions)
	for _, a := range d.Runner.Accounts {
		targets += len(a.Regions)
	}
	logger.Info("archiver running", "schedule", d.Schedule, "targets", targets)
	cycle()
	c.Start()
	<-ctx.Done()
	logger.Info("shutting down")
	<-c.Stop().Done()
	if cause := context.Cause(ctx); errors.Is(cause, store.ErrNotMigrated) {
		return cause
	}
	return nil
}

func anySucceeded(results []ingest.Result) bool {
	for _, r := range results {
		if r.Err == nil {
			return true
		}
	}
	return false
}

// recordCoverage recomputes every target's coverage from its runs for the
// gap metric. A failure (the database away) keeps the last values.
func (d *Daemon) recordCoverage(ctx context.Context, logger *slog.Logger) {
	st := d.Runner.Store
	targets, err := st.Targets(ctx)
	if err == nil {
		var runs []store.Run
		if runs, err = st.Runs(ctx); err == nil {
			d.metrics.recordCoverage(query.Coverage(targets, runs))
			return
		}
	}
	if ctx.Err() == nil { // shutting down is not worth a warning
		logger.Warn("coverage metric not updated", "err", err)
	}
}

// serve starts the /healthz and /metrics listener, if any, and returns the
// function that stops it.
func (d *Daemon) serve(logger *slog.Logger) (func(), error) {
	if d.Listen == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", d.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", d.Listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", d.metrics.handler())
	mux.Handle("/healthz", &d.health)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "err", err)
		}
	}()
	logger.Info("serving /healthz and /metrics", "addr", ln.Addr().String())
	return func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}, nil
}
