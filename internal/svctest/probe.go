package svctest

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// Probe GETs a URL over and over (a new connection each time) and
// records how many answers were 200, how many failed, and the longest
// time between two answers.
type Probe struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex
	ok, failed int
	maxGap     time.Duration
	last       time.Time
	firstErr   error
}

// StartProbe probes url every interval until Stop.
func StartProbe(url string, interval time.Duration) *Probe {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Probe{cancel: cancel, done: make(chan struct{})}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		defer close(p.done)
		for ctx.Err() == nil {
			p.once(ctx, c, url)
			select {
			case <-ctx.Done():
			case <-time.After(interval):
			}
		}
	}()
	return p
}

func (p *Probe) once(ctx context.Context, c *http.Client, url string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = &statusError{resp.StatusCode}
		}
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		p.failed++
		if p.firstErr == nil {
			p.firstErr = err
		}
		return
	}
	p.ok++
	if !p.last.IsZero() && now.Sub(p.last) > p.maxGap {
		p.maxGap = now.Sub(p.last)
	}
	p.last = now
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }

// ProbeResult is what a Probe saw.
type ProbeResult struct {
	OK, Failed int
	MaxGap     time.Duration // the longest time between two answers
	FirstErr   error
}

// Stop ends the probe and returns what it saw.
func (p *Probe) Stop() ProbeResult {
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return ProbeResult{OK: p.ok, Failed: p.failed, MaxGap: p.maxGap, FirstErr: p.firstErr}
}
