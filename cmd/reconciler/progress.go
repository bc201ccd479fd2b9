package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// minRateTime is how long a download must have been watched before its
// rate is shown. The first ticks come a few milliseconds apart, and bytes
// over so short a time gave rates like 43342.6 MiB/s.
const minRateTime = time.Second

// progress draws one line per artifact download on a terminal: bytes, rate
// and time left. It is only wired when stderr is a terminal; logs and
// scripts see nothing of it.
type progress struct {
	w     io.Writer
	mu    sync.Mutex
	loads map[string]*download
}

// download is what progress remembers of one: its first tick of the
// current attempt, and the bytes of its last tick.
type download struct {
	start     time.Time
	startDone int64
	lastDone  int64
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, loads: map[string]*download{}}
}

// update is an artifacts.Fetcher Progress func.
func (p *progress) update(name string, done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	d, ok := p.loads[name]
	// Fewer bytes than last time: a retry started over from byte 0.
	if !ok || done < d.lastDone {
		d = &download{start: now, startDone: done}
		p.loads[name] = d
	}
	d.lastDone = done

	line := fmt.Sprintf("  %s  %s", name, mib(done))
	if total > 0 {
		line += " / " + mib(total)
	}
	if rate, ok := d.rate(now, done); ok && (total <= 0 || done < total) {
		line += fmt.Sprintf("  %s/s", mib(int64(rate)))
		if total > 0 {
			left := time.Duration(float64(total-done) / rate * float64(time.Second))
			line += fmt.Sprintf("  %s left", left.Round(time.Second))
		}
	}
	end := "\r"
	if total > 0 && done >= total {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r\033[K%s%s", line, end)
}

// rate is the bytes per second since the first tick, once that is at least
// minRateTime ago. Bytes done before the first tick are left out: when
// they began to arrive is not known.
func (d *download) rate(now time.Time, done int64) (float64, bool) {
	elapsed := now.Sub(d.start)
	if elapsed < minRateTime || done <= d.startDone {
		return 0, false
	}
	return float64(done-d.startDone) / elapsed.Seconds(), true
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
