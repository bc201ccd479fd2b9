package backoff

import (
	"math/rand/v2"
	"time"
)

// Exp is an exponential backoff with equal jitter. The zero value waits
// about 1s, never more: set Max to let it grow.
type Exp struct {
	Min time.Duration // the first wait; default 1s
	// Max caps the doubling; a Max below Min is Min.
	Max time.Duration
	// Rand returns a number in [0, n); default math/rand/v2's Int64N.
	Rand func(n int64) int64
}

// DefaultMin is Exp's Min when it is zero.
const DefaultMin = time.Second

// Full is the wait after the n-th consecutive failure (1-based) before
// jitter: Min doubled n-1 times, capped at Max. It never overflows.
func (e Exp) Full(n int) time.Duration {
	d := e.Min
	if d <= 0 {
		d = DefaultMin
	}
	limit := max(e.Max, d)
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// Delay is the wait after the n-th consecutive failure (1-based): Full(n)
// with equal jitter, uniformly in [d - d/2, d].
func (e Exp) Delay(n int) time.Duration {
	d := e.Full(n)
	rnd := e.Rand
	if rnd == nil {
		rnd = rand.Int64N
	}
	half := d / 2
	return d - half + time.Duration(rnd(int64(half)+1))
}
