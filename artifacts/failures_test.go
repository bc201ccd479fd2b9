package artifacts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// truncate sends a Content-Length larger than the body, then closes.
func truncate(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body))
		buf.Write(body[:len(body)/2])
		buf.Flush()
	}
}

func TestFetchFailures(t *testing.T) {
	t.Parallel()
	body, sum := payload(64 << 10)
	corrupt := append([]byte(nil), body...)
	corrupt[100] ^= 1
	var flaky atomic.Int32
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		maxSize   int64
		wantErr   error
		wantHits  int32
		transient bool
		says      []string
	}{
		{name: "404", handler: http.NotFound, wantHits: 1, says: []string{"404 Not Found", "/web-2.0"}},
		{name: "410", handler: status(http.StatusGone), wantHits: 1, says: []string{"410 Gone"}},
		{name: "always 500", handler: status(500), wantHits: 3, transient: true,
			says: []string{"500 Internal Server Error", "giving up after 3 attempts"}},
		{name: "always 429", handler: status(429), wantHits: 3, transient: true},
		{name: "truncated", handler: truncate(body), wantErr: ErrTruncated, wantHits: 3, transient: true,
			says: []string{"truncated download"}},
		{name: "corrupt", handler: serve(corrupt), wantErr: ErrDigestMismatch, wantHits: 1,
			says: []string{"sha256 mismatch: got " + digest(corrupt) + ", want " + sum, "/web-2.0"}},
		{name: "too large announced", handler: serve(body), maxSize: 1000, wantErr: ErrTooLarge, wantHits: 1},
		{name: "too large chunked", handler: chunked(body), maxSize: 1000, wantErr: ErrTooLarge, wantHits: 1},
		{name: "500 then 404", handler: func(w http.ResponseWriter, r *http.Request) {
			if flaky.Add(1) == 1 {
				w.WriteHeader(500)
				return
			}
			http.NotFound(w, r)
		}, wantHits: 2, says: []string{"404"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, hits := counted(t, tc.handler)
			dir := t.TempDir()
			f := fast()
			f.MaxSize = tc.maxSize
			_, err := f.Fetch(t.Context(), srv.URL+"/web-2.0", sum, dir, "app.2.0", 0o755)
			if err == nil {
				t.Fatal("got no error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("got %v, want %v", err, tc.wantErr)
			}
			if got := IsTransient(err); got != tc.transient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tc.transient)
			}
			if n := hits.Load(); n != tc.wantHits {
				t.Errorf("server got %d requests, want %d", n, tc.wantHits)
			}
			prefix := "download " + srv.URL + "/web-2.0 into " + filepath.Join(dir, "app.2.0") + ": "
			for _, s := range append(tc.says, prefix) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			assertEntries(t, dir)
		})
	}
}

func TestFetch404IsStatusError(t *testing.T) {
	t.Parallel()
	srv, _ := counted(t, http.NotFound)
	_, sum := payload(1)
	_, err := fast().Fetch(t.Context(), srv.URL+"/x", sum, t.TempDir(), "app", 0o755)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 404 || se.URL != srv.URL+"/x" {
		t.Fatalf("got %v, want a *StatusError with code 404 for %s/x", err, srv.URL)
	}
	if want := "GET " + srv.URL + "/x: 404 Not Found"; se.Error() != want {
		t.Errorf("got %q, want %q", se.Error(), want)
	}
}

// An endless body without Content-Length: Fetch must stop reading at
// MaxSize+1 and hang up, or it would never return.
func TestFetchTooLargeStopsReadingEarly(t *testing.T) {
	t.Parallel()
	var served atomic.Int64
	handlerDone := make(chan struct{})
	srv, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(handlerDone)
		buf := make([]byte, 32<<10)
		for {
			n, err := w.Write(buf)
			served.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	dir := t.TempDir()
	f := fast()
	f.MaxSize = 100 << 10
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := f.Fetch(ctx, srv.URL, strings.Repeat("0", 64), dir, "app", 0o755)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	select {
	case <-handlerDone: // the client hung up: the server's writes failed
	case <-time.After(5 * time.Second):
		t.Fatalf("server still streaming after %d bytes: the client did not hang up", served.Load())
	}
	assertEntries(t, dir)
}

func TestFetchConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	_, sum := payload(1)
	_, err = fast().Fetch(t.Context(), "http://"+addr+"/x", sum, dir, "app", 0o755)
	if !errors.Is(err, syscall.ECONNREFUSED) || !IsTransient(err) {
		t.Fatalf("got %v (transient %v), want a transient ECONNREFUSED", err, IsTransient(err))
	}
	if !strings.Contains(err.Error(), "http://"+addr+"/x") || !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Errorf("error %q does not name the URL and the attempts", err)
	}
	assertEntries(t, dir)
}

func TestFetchCancelMidStream(t *testing.T) {
	t.Parallel()
	body, sum := payload(1 << 20)
	started := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	srv, hits := counted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:4096])
		w.(http.Flusher).Flush()
		once.Do(func() { close(started) })
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-started
		cancel()
	}()
	start := time.Now()
	_, err := fast().Fetch(ctx, srv.URL, sum, dir, "app", 0o755)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Fetch took %v after cancel, want prompt return", elapsed)
	}
	if !errors.Is(err, context.Canceled) || IsTransient(err) {
		t.Fatalf("got %v (transient %v), want context.Canceled, not transient", err, IsTransient(err))
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("server got %d requests, want 1", n)
	}
	assertEntries(t, dir)
}

func TestFetchStallIsTransient(t *testing.T) {
	t.Parallel()
	body, sum := payload(100000)
	release := make(chan struct{})
	srv, hits := counted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:1000])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	dir := t.TempDir()
	f := fast()
	f.Attempts, f.StallTimeout = 2, 200*time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // fail, not hang
	defer cancel()
	_, err := f.Fetch(ctx, srv.URL, sum, dir, "app", 0o755)
	if !errors.Is(err, os.ErrDeadlineExceeded) || !IsTransient(err) || !strings.Contains(err.Error(), "stalled") {
		t.Fatalf("got %v, want a transient stall", err)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("server got %d requests, want 2", n)
	}
	assertEntries(t, dir)
}

// fakeBody is a Doer whose body is r with the announced length: it shows
// exactly how much Fetch reads, and bodies that end early without an error
// (as a custom Doer might hand out).
type fakeBody struct {
	r      io.Reader
	length int64
}

func (d fakeBody) Do(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: io.NopCloser(d.r), ContentLength: d.length}, nil
}

// countingReader is endless and counts what was read from it.
type countingReader struct{ n atomic.Int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

func TestFetchReadsAtMostMaxSizePlusOne(t *testing.T) {
	t.Parallel()
	src := &countingReader{}
	dir := t.TempDir()
	f := fast()
	f.Client, f.MaxSize = fakeBody{r: src, length: -1}, 3<<20+5
	_, err := f.Fetch(t.Context(), "https://h/x", strings.Repeat("0", 64), dir, "app", 0o755)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if got := src.n.Load(); got != f.MaxSize+1 {
		t.Errorf("read %d bytes, want MaxSize+1 = %d", got, f.MaxSize+1)
	}
	assertEntries(t, dir)
}

func TestFetchShortBodyIsTruncated(t *testing.T) {
	t.Parallel()
	body, sum := payload(1000)
	dir := t.TempDir()
	f := fast()
	f.Client = fakeBody{r: bytes.NewReader(body[:600]), length: 1000}
	f.Attempts = 1
	_, err := f.Fetch(t.Context(), "https://h/x", sum, dir, "app", 0o755)
	if !errors.Is(err, ErrTruncated) || !IsTransient(err) || !strings.Contains(err.Error(), "got 600 of 1000 bytes") {
		t.Fatalf("got %v, want a transient ErrTruncated saying 600 of 1000", err)
	}
	assertEntries(t, dir)
}
