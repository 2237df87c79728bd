package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// Result is the outcome of one cycle over one target.
type Result struct {
	Target  store.Target
	Run     store.Run
	Skipped bool // another archiver held the lease, or the target is retired
	Err     error
}

// Outcome is the result's outcome as the run records it, or RunSkipped.
func (r Result) Outcome() model.RunOutcome {
	switch {
	case r.Skipped:
		return model.RunSkipped
	case r.Err != nil && (r.Run.Outcome == "" || r.Run.Outcome == model.RunRunning):
		return model.RunFailed // failed before its run was recorded or finished
	}
	return r.Run.Outcome
}

// Runner runs one cycle over every configured target.
type Runner struct {
	Store *store.Store
	// Regions are walked with the credential chain's account (identified
	// through STS) when Accounts is empty.
	Regions []string
	// Accounts, when set, replace Regions: each with its own credentials,
	// its targets carrying its name.
	Accounts []Account
	// API configures every API client the runner builds: the endpoint, the
	// credential (nil: the standard chain), the timeout and the retries.
	API    source.Options
	Clock  func() time.Time
	Logger *slog.Logger
	// HashOnlyContents: see Cycle.
	HashOnlyContents bool
	// ReadAhead: see Cycle.
	ReadAhead int
	// Progress, when set, is told each target's run counts as its cycle
	// goes (see Cycle.Progress).
	Progress func(store.Target, store.Run)
	// RateLimit is the calls per second allowed per (account, region, API)
	// (default DefaultRateLimit); throttling answers pause that bucket.
	RateLimit float64
	// Concurrency is how many targets are walked at once (default
	// DefaultConcurrency): a cycle over many accounts and regions takes as
	// long as its slowest target, not their sum.
	Concurrency int
	// ReconcileEvery: see Cycle (0: every cycle walks the whole listing).
	ReconcileEvery time.Duration

	mu       sync.Mutex
	api      source.Options             // API with its credential resolved
	account  string                     // whose credentials API's are
	accounts map[string]source.Options  // per configured account, once built
	limiters map[string]*source.Limiter // per account, region and API, kept across cycles
}

// DefaultRateLimit is the calls per second per (account, region, API) when
// none is configured. A walk over real calls (50-200 ms each) makes 5-20 a
// second, so the bucket only bites when calls come back fast; it keeps the
// archiver from ever taking more of the account's quota than that.
const DefaultRateLimit = 20

// DefaultConcurrency is how many targets a cycle walks at once when none is
// configured: each mostly waits on the API, and the store's pool serves a
// few at a time.
const DefaultConcurrency = 4

// limiter returns the token bucket of one account, region and API.
func (r *Runner) limiter(account, region string, api model.SourceID) *source.Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := account + "\x00" + region + "\x00" + string(api)
	if l, ok := r.limiters[key]; ok {
		return l
	}
	perSecond := r.RateLimit
	if perSecond <= 0 {
		perSecond = DefaultRateLimit
	}
	if r.limiters == nil {
		r.limiters = map[string]*source.Limiter{}
	}
	l := source.NewLimiter(perSecond, int(max(perSecond, 1)), r.API.Retry)
	r.limiters[key] = l
	return l
}

// Once runs one cycle per target, up to Concurrency at a time, and returns
// every outcome in configuration order. The error is non-nil when any target
// failed (not when one was skipped because another archiver was working
// it). Failures are returned, not logged: the caller reports them once.
func (r *Runner) Once(ctx context.Context) ([]Result, error) {
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	jobs := r.jobs(ctx)
	results := make([]Result, len(jobs))
	limit := r.Concurrency
	if limit <= 0 {
		limit = DefaultConcurrency
	}
	// More would wait on the store's pool, and a target holding its lease
	// while waiting for a second connection could wait forever.
	limit = min(limit, r.Store.ConcurrentWalks())
	var wg sync.WaitGroup
	slots := make(chan struct{}, limit)
	for i, j := range jobs {
		if j.err != nil || ctx.Err() != nil {
			results[i] = Result{Target: j.target, Err: cmp.Or(j.err, ctx.Err())}
			continue
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			results[i] = r.one(ctx, j.target, j.api, logger)
		}()
	}
	wg.Wait()
	var failed []error
	for _, res := range results {
		if err := r.report(res, logger); err != nil {
			failed = append(failed, err)
		}
	}
	return results, errors.Join(failed...)
}

// job is one target of a cycle: whose credentials walk it, or why it
// cannot be walked (its account's credentials could not be had).
type job struct {
	target store.Target
	api    source.Options
	err    error
}

// jobs lists the cycle's targets: the configured accounts', or the
// credential chain's account in each region.
func (r *Runner) jobs(ctx context.Context) []job {
	var jobs []job
	if len(r.Accounts) == 0 {
		api, account, err := r.identify(ctx)
		for _, region := range r.Regions {
			jobs = append(jobs, job{store.Target{Account: account, Region: region, Source: model.SourceSendFileResults}, api, err})
		}
		return jobs
	}
	for _, a := range r.Accounts {
		api, err := r.accountAPI(ctx, a)
		for _, region := range a.Regions {
			for _, src := range a.sources() {
				jobs = append(jobs, job{store.Target{Account: a.Name, Region: region, Source: src}, api, err})
			}
		}
	}
	return jobs
}

// report logs a target's outcome and returns its failure, if any, naming
// the target.
func (r *Runner) report(res Result, logger *slog.Logger) error {
	switch {
	case res.Skipped && res.Target.Retired:
	case res.Skipped:
		logger.Info("target skipped: another archiver holds its lease", "target", res.Target.String())
	case res.Err != nil:
		return fmt.Errorf("%s: %w", res.Target, res.Err)
	default:
		logger.Info("cycle done", "target", res.Target.String(), "pages", res.Run.Pages,
			"records", res.Run.Records, "events", res.Run.Events, "api_calls", res.Run.APICalls,
			"retries", res.Run.Retries, "expired", res.Run.Expired)
	}
	return nil
}

// identify settles the credential and the account it belongs to, once per
// runner: a target's account is its credentials' account.
func (r *Runner) identify(ctx context.Context) (source.Options, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.account != "" {
		return r.api, r.account, nil
	}
	api, err := source.Resolve(r.API)
	if err != nil {
		return api, "", err
	}
	account, _, err := source.CallerAccount(ctx, api)
	if err != nil {
		return api, "", err
	}
	r.api, r.account = api, account
	return api, account, nil
}

// one runs one target's cycle: a walk of its listing, or for a tracked
// source a poll of its tracked tasks.
func (r *Runner) one(ctx context.Context, want store.Target, api source.Options, logger *slog.Logger) Result {
	target, adopted, err := r.Store.EnsureTarget(ctx, want.Account, want.Region, want.Source)
	res := Result{Target: target}
	if err != nil {
		res.Err = err
		return res
	}
	if adopted {
		logger.Info("adopted the archive's unnamed target for this account", "target", target.String())
	}
	if target.Retired {
		// Retired by the operator (archiver targets retire): configured
		// still, but not walked; its events stay.
		logger.Info("target is retired; not walked", "target", target.String())
		res.Skipped = true
		return res
	}
	api.Limiter = r.limiter(target.Account, target.Region, target.Source)
	if model.IsTracked(target.Source) {
		res.Run, res.Err = r.tracked(ctx, target, api, logger)
		return skippedIfLeaseHeld(res)
	}
	src, err := source.ForSource(target.Source, target.Region, api)
	if err != nil {
		res.Err = err
		return res
	}
	c := &Cycle{Store: r.Store, Target: target, Source: src, Clock: r.Clock, Logger: logger, HashOnlyContents: r.HashOnlyContents,
		ReadAhead: r.ReadAhead, ReconcileEvery: r.ReconcileEvery}
	if r.Progress != nil {
		c.Progress = func(run store.Run) { r.Progress(target, run) }
	}
	res.Run, res.Err = c.Run(ctx)
	return skippedIfLeaseHeld(res)
}

// skippedIfLeaseHeld turns "another archiver holds the lease" into a skip:
// that target is being worked, just not by us.
func skippedIfLeaseHeld(res Result) Result {
	if errors.Is(res.Err, ErrLeaseHeld) {
		res.Skipped, res.Err = true, nil
	}
	return res
}
