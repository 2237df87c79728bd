package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudassistant/sendfile-archive/store"
)

// Result is the outcome of one cycle over one target.
type Result struct {
	Target  store.Target
	Run     store.Run
	Skipped bool // another archiver held the lease
	Err     error
}

// Runner runs one cycle over every configured target.
type Runner struct {
	Store   *store.Store
	Regions []string
	// NewSource builds the API source for a region.
	NewSource func(region string) (Source, error)
	Clock     func() time.Time
	Logger    *slog.Logger
}

// Once runs one cycle per target, one after the other, and returns every
// outcome. The error is non-nil when any target failed (not when one was
// skipped because another archiver was working it).
func (r *Runner) Once(ctx context.Context) ([]Result, error) {
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var results []Result
	var failed []error
	for _, region := range r.Regions {
		res := r.one(ctx, region, logger)
		results = append(results, res)
		switch {
		case res.Skipped:
			logger.Info("target skipped: another archiver holds its lease", "target", res.Target.String())
		case res.Err != nil:
			logger.Error("cycle failed", "target", res.Target.String(), "err", res.Err)
			failed = append(failed, fmt.Errorf("%s: %w", region, res.Err))
		default:
			logger.Info("cycle done", "target", res.Target.String(), "pages", res.Run.Pages,
				"records", res.Run.Records, "events", res.Run.Events, "api_calls", res.Run.APICalls,
				"retries", res.Run.Retries, "expired", res.Run.Expired)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return results, errors.Join(failed...)
}

func (r *Runner) one(ctx context.Context, region string, logger *slog.Logger) Result {
	target, err := r.Store.EnsureTarget(ctx, "", region, store.SourceSendFileResults)
	res := Result{Target: target}
	if err != nil {
		res.Err = err
		return res
	}
	src, err := r.NewSource(region)
	if err != nil {
		res.Err = err
		return res
	}
	c := &Cycle{Store: r.Store, Target: target, Source: src, Clock: r.Clock, Logger: logger}
	res.Run, res.Err = c.Run(ctx)
	if errors.Is(res.Err, ErrLeaseHeld) {
		res.Skipped, res.Err = true, nil
	}
	return res
}
