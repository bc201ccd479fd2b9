package artifacts

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// DefaultMaxSize is the largest artifact accepted when Fetcher.MaxSize is 0
// (2 GiB; --max-artifact-size's default).
const DefaultMaxSize = 2 << 30

// Fetcher downloads and verifies artifacts. The zero value is ready to use;
// a Fetcher may be used by several goroutines at once.
type Fetcher struct {
	// Client does the HTTP requests. Nil means NewClient(nil). A custom
	// client must refuse https-to-http redirects: see RefuseDowngrade.
	Client Doer
	// MaxSize is the largest artifact accepted, enforced while streaming
	// (reading stops at MaxSize+1 bytes). 0 means DefaultMaxSize.
	MaxSize int64
	// Attempts is the number of tries in total for transient errors. 0 means 4.
	Attempts int
	// Backoff is the first wait between tries, doubled after each, capped
	// at 8s (or Backoff if larger), with jitter. 0 means 500ms.
	Backoff time.Duration
	// StallTimeout fails an attempt (transiently) when no byte arrives for
	// that long, response headers included. 0 means 1 minute.
	StallTimeout time.Duration
	// Stores open locators of other schemes than http, https and file:
	// "oci" and "s3" (packages artifacts/oci and artifacts/s3). A scheme
	// without a Store is ErrUnsupportedScheme.
	Stores map[string]Store
	// Progress, if set, is called with the bytes done so far and the total
	// (-1 if unknown), at most ~10 times a second and once at the end.
	Progress func(name string, done, total int64)
}

// Fetch makes dir/name hold the bytes of rawURL whose sha256 (hex) is want.
//
// An existing dir/name with that digest is reused and nothing is
// downloaded; one with another digest is an error wrapping ErrImmutable, and
// it is left as it is. Otherwise the body (http, https or file URL) is
// streamed into a temp file in dir while hashing, checked for size, length
// and digest, given mode, fsynced and renamed into place, and dir is
// fsynced. On failure dir gains nothing. Transient failures (see
// IsTransient) are retried with backoff; others are returned at once.
func (f *Fetcher) Fetch(ctx context.Context, rawURL, want, dir, name string, mode os.FileMode) (Result, error) {
	dest := filepath.Join(dir, name)
	t, err := parseTarget(rawURL, f.Stores)
	if err == nil {
		var res Result
		res, err = f.fetch(ctx, t, want, dir, name, mode)
		if err == nil {
			return res, nil
		}
	}
	return Result{}, t.scrub(fmt.Errorf("download %s into %s: %w", t.origin, dest, err))
}

func (f *Fetcher) fetch(ctx context.Context, t target, want, dir, name string, mode os.FileMode) (Result, error) {
	if err := checkName(name); err != nil {
		return Result{}, err
	}
	want, err := parseDigest(want)
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	dest := filepath.Join(dir, name)
	found, size, err := checkExisting(dest, want)
	if err != nil || found {
		return Result{Path: dest, SHA256: want, Size: size, Reused: found}, err
	}
	doer := f.Client
	if doer == nil {
		c := NewClient(nil)
		defer c.CloseIdleConnections()
		doer = c
	}
	var res Result
	err = f.retry(ctx, func(ctx context.Context) error {
		var err error
		res, err = f.once(ctx, doer, t, want, dir, name, mode)
		return err
	})
	return res, err
}

// once is one attempt: download into a temp file, verify, put in place.
func (f *Fetcher) once(ctx context.Context, doer Doer, t target, want, dir, name string, mode os.FileMode) (Result, error) {
	w := newWatchdog(ctx, f.StallTimeout)
	defer w.stop()
	body, total, err := f.open(w.ctx, doer, t, want)
	if err != nil {
		return Result{}, w.explain(err)
	}
	defer body.Close()
	limit := f.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	if total > limit {
		return Result{}, fmt.Errorf("%w: %d bytes announced, limit %d", ErrTooLarge, total, limit)
	}
	p, err := createTemp(dir, name)
	if err != nil {
		return Result{}, err
	}
	defer p.discard()
	c, err := f.stream(w.ctx, p.f, body, name, total, limit, w.feed)
	if err != nil {
		return Result{}, w.explain(err)
	}
	if err := verify(c, total, want); err != nil {
		return Result{}, err
	}
	dest := filepath.Join(dir, name)
	if err := place(p, dest, want, mode); err != nil {
		return Result{}, err
	}
	return Result{Path: dest, SHA256: c.sum, Size: c.n}, nil
}

// verify compares what arrived with what was announced and wanted.
func verify(c copied, total int64, want string) error {
	if total >= 0 && c.n < total {
		return fmt.Errorf("%w: got %d of %d bytes: %w", ErrTruncated, c.n, total, io.ErrUnexpectedEOF)
	}
	if c.sum != want {
		return &DigestError{Got: c.sum, Want: want, Size: c.n}
	}
	return nil
}

// Compile-time check: an *http.Client is a Doer.
var _ Doer = (*http.Client)(nil)
