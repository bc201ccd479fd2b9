package artifacts

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

const (
	defaultAttempts = 4
	defaultBackoff  = 500 * time.Millisecond
	maxBackoff      = 8 * time.Second
)

// retry runs op until it succeeds, fails for good, runs out of attempts, or
// ctx ends, waiting with exponential backoff between transient failures.
func (f *Fetcher) retry(ctx context.Context, op func(context.Context) error) error {
	attempts := f.Attempts
	if attempts <= 0 {
		attempts = defaultAttempts
	}
	for i := 1; ; i++ {
		err := op(ctx)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctxErr(ctx, err)
		case !IsTransient(err):
			return err
		case i >= attempts:
			if attempts == 1 {
				return err
			}
			return fmt.Errorf("giving up after %d attempts: %w", i, err)
		}
		if werr := wait(ctx, backoff(f.Backoff, i)); werr != nil {
			return fmt.Errorf("%w while waiting to retry: %w", werr, err)
		}
	}
}

// ctxErr makes sure an error caused by the end of ctx says so (the
// transport may report it as a closed connection).
func ctxErr(ctx context.Context, err error) error {
	if errors.Is(err, ctx.Err()) {
		return err
	}
	return fmt.Errorf("%w: %w", context.Cause(ctx), err)
}

// backoff is the wait after failed attempt n (1-based): base doubled n-1
// times, capped at 8s (or base, if larger), with "equal jitter": uniformly
// in [d/2, d], so that a fleet does not retry in lockstep.
func backoff(base time.Duration, n int) time.Duration {
	if base <= 0 {
		base = defaultBackoff
	}
	limit := max(maxBackoff, base)
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + rand.N(d/2+1)
}

// wait waits d or until ctx ends, whichever comes first.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
