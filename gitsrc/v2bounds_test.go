package gitsrc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/redact"
)

// boundTimeout is the Source's timeout in the tests of bounded answers: an
// unbounded read of an endless answer ends only there, so the tests tell
// a bounded read from an unbounded one by the error, not by a clock.
const boundTimeout = 30 * time.Second

// endless writes chunk until the client goes away and returns how many
// bytes it wrote.
func endless(w http.ResponseWriter, r *http.Request, chunk func(i int) string) int64 {
	var n int64
	for i := 0; r.Context().Err() == nil; i++ {
		m, err := w.Write([]byte(chunk(i)))
		n += int64(m)
		if err != nil {
			break
		}
	}
	return n
}

// TestHTTPErrorBodyBounded: a server that answers an error status with a
// body that never ends is reported by its status at once; the agent reads
// a few KiB of that body, not all of it until the timeout.
func TestHTTPErrorBodyBounded(t *testing.T) {
	t.Parallel()
	var wrote atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadGateway)
		wrote.Add(endless(w, r, func(int) string { return strings.Repeat("upstream down ", 1024) + "\n" }))
	}))
	t.Cleanup(srv.Close)
	s := newSource(t, gitsrc.Options{URL: srv.URL + "/x.git", CacheDir: cacheDir(t), Timeout: boundTimeout})
	_, err := s.Head(t.Context())
	if !errors.Is(err, gitsrc.ErrUnreachable) || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "HTTP 502") {
		t.Fatalf("Head: got %v, want HTTP 502 as unreachable, not a timeout", err)
	}
}

// TestLsRefsBounded: a v2 server whose ls-refs answer never ends is
// refused with an error saying so, not read until the timeout, and not
// handed to go-git's listing (which would read a v0 answer without end).
func TestLsRefsBounded(t *testing.T) {
	t.Parallel()
	var posts, gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			gets.Add(1)
			w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
			fmt.Fprint(w, pkt("version 2\n")+pkt("ls-refs\n")+"0000")
			return
		}
		posts.Add(1)
		w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
		endless(w, r, func(i int) string {
			return pkt(fmt.Sprintf("%040x refs/heads/b%d\n", i+1, i))
		})
	}))
	t.Cleanup(srv.Close)
	s := newSource(t, gitsrc.Options{URL: srv.URL + "/x.git", CacheDir: cacheDir(t), Timeout: boundTimeout})
	_, err := s.Head(t.Context())
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("Head: got %v, want an error naming the bound on refs", err)
	}
	if !strings.Contains(err.Error(), redact.URL(srv.URL+"/x.git")) {
		t.Errorf("Head: got %v, want the repo URL named", err)
	}
	if got := gets.Load(); got != 1 {
		t.Errorf("%d GETs of info/refs, want 1 (no fallback to go-git's listing)", got)
	}
}

func pkt(s string) string { return fmt.Sprintf("%04x", len(s)+4) + s }
