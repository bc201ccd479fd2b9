package artifacts

import (
	"context"
	"fmt"
	"io"
)

// Sum reads the artifact at rawURL (http, https or file) and returns its
// sha256 (hex) and size, for a writer that names an artifact by URL alone
// (reconciler bump --bin-url): the body is streamed through the hash and
// dropped, never held, and refused past MaxSize as Fetch refuses it. A
// truncated body (shorter than announced) is an error; transient failures
// are retried as by Fetch. Errors name the URL redacted.
func (f *Fetcher) Sum(ctx context.Context, rawURL string) (sum string, size int64, err error) {
	t, err := parseTarget(rawURL, nil) // a URL: bump hashes no store locator
	if err == nil {
		doer := f.Client
		if doer == nil {
			c := NewClient(nil)
			defer c.CloseIdleConnections()
			doer = c
		}
		err = f.retry(ctx, func(ctx context.Context) error {
			c, err := f.sumOnce(ctx, doer, t)
			sum, size = c.sum, c.n
			return err
		})
	}
	if err != nil {
		return "", 0, t.scrub(fmt.Errorf("hash %s: %w", t.origin, err))
	}
	return sum, size, nil
}

// sumOnce is one attempt of Sum.
func (f *Fetcher) sumOnce(ctx context.Context, doer Doer, t target) (copied, error) {
	w := newWatchdog(ctx, f.StallTimeout)
	defer w.stop()
	body, total, err := f.open(w.ctx, doer, t, "")
	if err != nil {
		return copied{}, w.explain(err)
	}
	defer body.Close()
	limit := f.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	if total > limit {
		return copied{}, fmt.Errorf("%w: %d bytes announced, limit %d", ErrTooLarge, total, limit)
	}
	c, err := f.stream(w.ctx, io.Discard, body, t.origin, total, limit, w.feed)
	if err != nil {
		return copied{}, w.explain(err)
	}
	if total >= 0 && c.n < total {
		return copied{}, fmt.Errorf("%w: got %d of %d bytes: %w", ErrTruncated, c.n, total, io.ErrUnexpectedEOF)
	}
	return c, nil
}
