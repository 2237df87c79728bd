package source

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is the token bucket of one (account, region, API): every call
// through it waits for a token, so the archiver never spends more of the
// account's API quota than it was given. A throttling answer pauses the
// whole bucket, for longer the more answers in a row were throttles, so
// the calls queued behind it wait too instead of running into the same
// throttle; a successful call ends the streak.
type Limiter struct {
	rl    *rate.Limiter
	pause RetryPolicy // Base: the first pause of a streak; Cap: the longest

	mu          sync.Mutex
	pausedUntil time.Time
	streak      int
}

// NewLimiter allows perSecond calls a second on average and burst at once.
// A throttling streak pauses it as the retry policy backs off a call: Base
// for the first throttle, doubling, at most Cap.
func NewLimiter(perSecond float64, burst int, backoff RetryPolicy) *Limiter {
	return &Limiter{rl: rate.NewLimiter(rate.Limit(perSecond), max(burst, 1)), pause: backoff.withDefaults()}
}

// Wait blocks until the bucket is not paused and has a token, or ctx ends.
// A nil Limiter never waits.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil {
		return nil
	}
	for {
		l.mu.Lock()
		wait := time.Until(l.pausedUntil)
		l.mu.Unlock()
		if wait <= 0 {
			return l.rl.Wait(ctx)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// throttled pauses the bucket: Base for the first throttle of a streak,
// doubling with each one after, up to Cap.
func (l *Limiter) throttled() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.streak++
	pause := min(l.pause.Base<<min(l.streak-1, 20), l.pause.Cap)
	if until := time.Now().Add(pause); until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
}

// succeeded ends a throttling streak.
func (l *Limiter) succeeded() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.streak = 0
	l.mu.Unlock()
}
