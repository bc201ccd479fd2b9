package testkit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestFindBinary(t *testing.T) {
	if got := FindBinary("sh"); got == "" {
		t.Error("FindBinary(sh) found nothing in $PATH")
	}
	if got := FindBinary("no-such-program-here", "/no/such", "/bin/sh"); got != "/bin/sh" {
		t.Errorf("FindBinary with fallbacks = %q, want /bin/sh", got)
	}
	if got := FindBinary("no-such-program-here"); got != "" {
		t.Errorf("FindBinary(missing) = %q, want \"\"", got)
	}
}

func TestRetry(t *testing.T) {
	calls := 0
	v, err := Retry(func() (int, error) {
		calls++
		if calls < StartTries {
			return 0, errors.New("port taken")
		}
		return 7, nil
	})
	if v != 7 || err != nil || calls != StartTries {
		t.Errorf("Retry = %d, %v after %d calls; want 7, nil after %d", v, err, calls, StartTries)
	}
	_, err = Retry(func() (int, error) { return 0, errors.New("never") })
	if err == nil || err.Error() != "never" {
		t.Errorf("Retry of a start that always fails = %v, want its last error", err)
	}
}

func TestWaitReady(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ok := func(res *http.Response) bool { return res.StatusCode == http.StatusOK }
	if err := WaitReady(t.Context(), srv.URL, time.Millisecond, nil, ok); err != nil || n.Load() != 3 {
		t.Errorf("WaitReady = %v after %d answers, want nil after 3", err, n.Load())
	}
	exited := make(chan struct{})
	close(exited)
	never := func(*http.Response) bool { return false }
	if err := WaitReady(t.Context(), srv.URL, time.Millisecond, exited, never); !errors.Is(err, ErrExited) {
		t.Errorf("WaitReady of an exited server = %v, want ErrExited", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := WaitReady(ctx, srv.URL, time.Millisecond, nil, never); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitReady after ctx ended = %v, want context.Canceled", err)
	}
}
