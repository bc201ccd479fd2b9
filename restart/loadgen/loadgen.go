package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options of a load loop.
type Options struct {
	URL       string
	Workers   int  // default 4
	KeepAlive bool // false: a new connection per request (nginx's default upstream)
	// MaxRequests bounds the loop (default 1,000,000).
	MaxRequests int64
	// Timeout of one request (default 5s): a hang counts as a failure.
	Timeout time.Duration
}

// Result counts what happened.
type Result struct {
	OK, Failed int64
	Errors     []string         // the first few failures, for messages
	Bodies     map[string]int64 // first line of each 2xx body -> count
	Latencies  []time.Duration  // of successful requests
}

// P99 is the 99th percentile latency of successful requests.
func (r Result) P99() time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.Latencies)
	slices.Sort(s)
	return s[len(s)*99/100]
}

func (r Result) String() string {
	return fmt.Sprintf("%d ok, %d failed, p99 %s", r.OK, r.Failed, r.P99())
}

// Loop is a running load loop.
type Loop struct {
	opts   Options
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sent   atomic.Int64
	ok     atomic.Int64

	mu  sync.Mutex
	res Result
}

// Start starts the workers; Stop ends them and returns the result.
func Start(ctx context.Context, o Options) *Loop {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.MaxRequests <= 0 {
		o.MaxRequests = 1_000_000
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	l := &Loop{opts: o, cancel: cancel, res: Result{Bodies: map[string]int64{}}}
	for i := 0; i < o.Workers; i++ {
		l.wg.Add(1)
		go l.work(ctx)
	}
	return l
}

// OK returns the successful requests so far.
func (l *Loop) OK() int64 { return l.ok.Load() }

// Stop ends the loop and returns what it saw.
func (l *Loop) Stop() Result {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.res
}

func (l *Loop) work(ctx context.Context) {
	defer l.wg.Done()
	tr := &http.Transport{DisableKeepAlives: !l.opts.KeepAlive, MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: l.opts.Timeout}
	for ctx.Err() == nil && l.sent.Add(1) <= l.opts.MaxRequests {
		start := time.Now()
		body, err := get(ctx, client, l.opts.URL)
		if ctx.Err() != nil && err != nil {
			return // stopped mid-request: not the server's failure
		}
		l.record(body, err, time.Since(start))
	}
}

func get(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		return "", errors.New(resp.Status)
	}
	line, _, _ := bytesCut(b)
	return line, nil
}

func bytesCut(b []byte) (string, string, bool) {
	for i, c := range b {
		if c == '\n' {
			return string(b[:i]), string(b[i+1:]), true
		}
	}
	return string(b), "", false
}

func (l *Loop) record(body string, err error, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.res.Failed++
		if len(l.res.Errors) < 10 {
			l.res.Errors = append(l.res.Errors, err.Error())
		}
		return
	}
	l.ok.Add(1)
	l.res.OK++
	l.res.Bodies[body]++
	if len(l.res.Latencies) < 1_000_000 {
		l.res.Latencies = append(l.res.Latencies, d)
	}
}
