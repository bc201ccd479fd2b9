package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// Bounds of a load run: it stops by itself even if the test forgets it.
const (
	loadWorkers  = 4
	loadMaxTime  = 30 * time.Second
	loadMaxCount = 200_000
	loadKeepErrs = 5
)

// load sends GET / from a few goroutines until stopped or out of bounds.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sent   atomic.Int64
	ok     atomic.Int64
	failed atomic.Int64
	// retried counts requests the client sent more than once: Go's
	// Transport silently retries an idempotent request whose reused
	// connection the server closed, which would hide a drop.
	retried atomic.Int64

	mu       sync.Mutex
	errs     []string
	versions map[string]int
}

// loadResult is what a run of load measured.
type loadResult struct {
	ok, failed, retried int64
	errs                []string
	versions            map[string]int // answers per version
}

func (r loadResult) String() string {
	return fmt.Sprintf("%d ok, %d failed, %d retried by the client, answers per version %v", r.ok, r.failed, r.retried, r.versions)
}

// startLoad starts the load on addr; keepAlive false opens a new connection
// per request (nginx's default towards upstreams).
func startLoad(t *testing.T, addr string, keepAlive bool) *load {
	ctx, cancel := context.WithTimeout(t.Context(), loadMaxTime)
	l := &load{cancel: cancel, versions: map[string]int{}}
	tr := &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: loadWorkers}
	client := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	for range loadWorkers {
		l.wg.Go(func() { l.work(ctx, client, "http://"+addr+"/") })
	}
	t.Cleanup(func() {
		l.stop()
		tr.CloseIdleConnections()
	})
	return l
}

func (l *load) work(ctx context.Context, client *http.Client, url string) {
	for ctx.Err() == nil && l.sent.Add(1) <= loadMaxCount {
		var attempts atomic.Int32
		trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { attempts.Add(1) }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, url, nil)
		if err != nil {
			panic(err) // a constant, valid URL
		}
		body, err := fetch(client, req)
		if ctx.Err() != nil {
			return // stopped mid-request: not the app's fault
		}
		if attempts.Load() > 1 {
			l.retried.Add(1)
		}
		l.record(body, err)
	}
}

func fetch(client *http.Client, req *http.Request) (string, error) {
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(b), "exampleapp ") {
		return "", fmt.Errorf("got %d %q, want 200 exampleapp", resp.StatusCode, b)
	}
	return string(b), nil
}

func (l *load) record(body string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed.Add(1)
		if len(l.errs) < loadKeepErrs {
			l.errs = append(l.errs, err.Error())
		}
		return
	}
	l.ok.Add(1)
	v, _, _ := strings.Cut(strings.TrimPrefix(body, "exampleapp "), ":")
	l.versions[v]++
}

// waitOK waits until n more requests have succeeded than at the call, so
// each switch happens under load.
func (l *load) waitOK(t *testing.T, n int64) {
	t.Helper()
	want := l.ok.Load() + n
	testkit.WaitForWithin(t, 10*time.Second, fmt.Sprintf("%d successful requests", n), func() bool { return l.ok.Load() >= want })
}

// stop ends the load, waits for its goroutines and returns what it measured.
func (l *load) stop() loadResult {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return loadResult{ok: l.ok.Load(), failed: l.failed.Load(), retried: l.retried.Load(), errs: l.errs, versions: l.versions}
}
