package output

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// retryPolicy is the retry loop of the network sinks: up to attempts tries
// of an operation, waiting between them a backoff that doubles from
// backoffMin up to backoffMax, with random jitter, and giving up early when
// the context is done.
type retryPolicy struct {
	attempts               int
	backoffMin, backoffMax time.Duration
}

// newRetryPolicy returns a policy with the given bounds, replacing zero or
// negative values by the defaults: 4 attempts, backoff from 100 ms to 5 s.
func newRetryPolicy(attempts int, backoffMin, backoffMax time.Duration) retryPolicy {
	p := retryPolicy{attempts: attempts, backoffMin: backoffMin, backoffMax: backoffMax}
	if p.attempts <= 0 {
		p.attempts = 4
	}
	if p.backoffMin <= 0 {
		p.backoffMin = 100 * time.Millisecond
	}
	if p.backoffMax <= 0 {
		p.backoffMax = 5 * time.Second
	}
	p.backoffMax = max(p.backoffMax, p.backoffMin)
	return p
}

// do calls op until it returns nil, returns an error for which retryable
// reports false, the attempts are used up, or ctx is done. It returns the
// last attempt's error; when ctx ends during a wait between attempts, an
// error wrapping both ctx's error and the last attempt's.
func (p retryPolicy) do(ctx context.Context, op func() error, retryable func(error) bool) error {
	var err error
	for attempt := 0; attempt < p.attempts; attempt++ {
		if attempt > 0 {
			if werr := p.wait(ctx, attempt); werr != nil {
				return fmt.Errorf("%w (after %d attempts: %w)", werr, attempt, err)
			}
		}
		if err = op(); err == nil || !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	return err
}

// wait sleeps for the backoff before the given attempt, or until ctx is
// done, whose error it then returns.
func (p retryPolicy) wait(ctx context.Context, attempt int) error {
	t := time.NewTimer(p.backoff(attempt))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff returns the wait before the given attempt (1 for the first
// retry): half of the doubled interval plus a random part of the other half.
func (p retryPolicy) backoff(attempt int) time.Duration {
	d := p.backoffMin
	for i := 1; i < attempt && d < p.backoffMax; i++ {
		d *= 2
	}
	d = min(d, p.backoffMax)
	half := d / 2
	return half + rand.N(half+1)
}
