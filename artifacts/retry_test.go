package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// unavailable is a Doer that answers 503 and records when it was asked.
type unavailable struct{ at *[]time.Time }

func (d unavailable) Do(r *http.Request) (*http.Response, error) {
	*d.at = append(*d.at, time.Now())
	return &http.Response{StatusCode: 503, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// With the defaults, Fetch tries 4 times, waiting 500ms, 1s, 2s, each
// jittered down to no less than half, on a fake clock.
func TestFetchBackoffDefaults(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var at []time.Time
		f := &Fetcher{Client: unavailable{&at}}
		_, sum := payload(1)
		dir := t.TempDir()
		_, err := f.Fetch(t.Context(), "https://h/x", sum, dir, "app", 0o755)
		var se *StatusError
		if !errors.As(err, &se) || se.Code != 503 {
			t.Fatalf("got %v, want a 503 StatusError", err)
		}
		if len(at) != 4 {
			t.Fatalf("got %d attempts, want 4", len(at))
		}
		for i, full := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second} {
			if gap := at[i+1].Sub(at[i]); gap < full/2 || gap > full {
				t.Errorf("wait %d: got %v, want between %v and %v", i+1, gap, full/2, full)
			}
		}
		assertEntries(t, dir)
	})
}

func TestFetchCancelledWhileWaitingToRetry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var at []time.Time
		f := &Fetcher{Client: unavailable{&at}, Backoff: time.Hour}
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		start := time.Now()
		_, sum := payload(1)
		_, err := f.Fetch(ctx, "https://h/x", sum, t.TempDir(), "app", 0o755)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "503") {
			t.Fatalf("got %v, want DeadlineExceeded naming the last error", err)
		}
		if d := time.Since(start); d != 3*time.Second || len(at) != 1 {
			t.Errorf("returned after %v and %d attempts, want 3s and 1", d, len(at))
		}
	})
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base time.Duration
		n    int
		full time.Duration
	}{
		{0, 1, 500 * time.Millisecond},
		{0, 2, time.Second},
		{0, 5, 8 * time.Second},
		{0, 60, 8 * time.Second}, // no overflow
		{time.Millisecond, 3, 4 * time.Millisecond},
		{20 * time.Second, 3, 20 * time.Second}, // a base above the cap is the cap
	}
	for _, tc := range tests {
		for range 100 {
			if d := backoff(tc.base, tc.n); d < tc.full/2 || d > tc.full {
				t.Fatalf("backoff(%v, %d) = %v, want between %v and %v", tc.base, tc.n, d, tc.full/2, tc.full)
			}
		}
	}
}

func TestIsTransient(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{refused, true},
		{fmt.Errorf("x: %w", syscall.ECONNRESET), true},
		{&StatusError{Code: 500}, true},
		{&StatusError{Code: 502}, true},
		{&StatusError{Code: 429}, true},
		{&StatusError{Code: 404}, false},
		{&StatusError{Code: 403}, false},
		{fmt.Errorf("%w: x", ErrTruncated), true},
		{io.ErrUnexpectedEOF, true},
		{os.ErrDeadlineExceeded, true},
		{context.DeadlineExceeded, true},
		{&net.DNSError{Err: "no such host", IsNotFound: true}, true}, // errclass.Network: any DNS error
		{fmt.Errorf("write: %w", syscall.EPIPE), true},
		{fmt.Errorf("read: %w", syscall.ETIMEDOUT), true},
		{fmt.Errorf("%w: %w", ErrNotFound, syscall.ECONNRESET), false}, // needs a person wins
		{&net.DNSError{Err: "timeout", IsTimeout: true}, true},
		{fmt.Errorf("%w: x", ErrDigestMismatch), false},
		{ErrImmutable, false},
		{ErrTooLarge, false},
		{ErrUnsupportedScheme, false},
		{ErrInsecureRedirect, false},
		{context.Canceled, false},
		{fmt.Errorf("%w: %w", context.Canceled, refused), false}, // the caller gave up
		{diskErr(&os.PathError{Op: "write", Path: "f", Err: syscall.ENOSPC}), false},
		{os.ErrNotExist, false},
		{errors.New("x509: certificate signed by unknown authority"), false},
	}
	for _, tc := range tests {
		if got := IsTransient(tc.err); got != tc.want {
			t.Errorf("IsTransient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestDiskErr(t *testing.T) {
	t.Parallel()
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		err := diskErr(&os.PathError{Op: "write", Path: "f", Err: errno})
		if !errors.Is(err, ErrDiskFull) || !errors.Is(err, errno) {
			t.Errorf("diskErr(%v) = %v, want ErrDiskFull wrapping it", errno, err)
		}
	}
	if err := diskErr(os.ErrPermission); errors.Is(err, ErrDiskFull) {
		t.Errorf("diskErr(EPERM) = %v, want no ErrDiskFull", err)
	}
}
