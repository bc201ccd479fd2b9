package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress draws one line per artifact download on a terminal: bytes, rate
// and time left. It is only wired when stderr is a terminal; logs and
// scripts see nothing of it.
type progress struct {
	w     io.Writer
	mu    sync.Mutex
	start map[string]time.Time
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, start: map[string]time.Time{}}
}

// update is an artifacts.Fetcher Progress func.
func (p *progress) update(name string, done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start, ok := p.start[name]
	if !ok {
		start = time.Now()
		p.start[name] = start
	}
	elapsed := time.Since(start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed
	}
	line := fmt.Sprintf("  %s  %s", name, mib(done))
	if total > 0 {
		line += " / " + mib(total)
		if rate > 0 && done < total {
			line += fmt.Sprintf("  %s/s  %s left", mib(int64(rate)), time.Duration(float64(total-done)/rate*float64(time.Second)).Round(time.Second))
		}
	} else if rate > 0 {
		line += fmt.Sprintf("  %s/s", mib(int64(rate)))
	}
	end := "\r"
	if total > 0 && done >= total {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r\033[K%s%s", line, end)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
