package artifacts

import (
	"context"
	"errors"
	"fmt"
	"time"

	ibackoff "github.com/reconciler-dev/reconciler/internal/backoff"
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

// backoff is the wait after failed attempt n (1-based): the one backoff
// (internal/backoff) from base (default 500ms), capped at 8s or base, if
// larger.
func backoff(base time.Duration, n int) time.Duration {
	if base <= 0 {
		base = defaultBackoff
	}
	return ibackoff.Exp{Min: base, Max: maxBackoff}.Delay(n)
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
