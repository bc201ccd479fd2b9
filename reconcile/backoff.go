package reconcile

import (
	"math/rand/v2"
	"time"
)

// backoffState computes the wait after consecutive failures: Min, doubling,
// capped at Max, with "equal jitter" as notify's and artifacts' retries
// have: uniformly in [d/2, d], so that a fleet that failed together (a
// shared git host down) does not retry in step. One success resets it
// (Reset).
type backoffState struct {
	Min, Max time.Duration
	// Rand returns a number in [0, n); default math/rand/v2.
	Rand     func(n int64) int64
	failures int
}

// Fail records a failure and returns the wait before the next try.
func (b *backoffState) Fail() time.Duration {
	b.failures++
	d := b.Min
	if d <= 0 {
		d = time.Second
	}
	for i := 1; i < b.failures && d < b.Max; i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	rnd := b.Rand
	if rnd == nil {
		rnd = rand.Int64N
	}
	half := d / 2
	return d - half + time.Duration(rnd(int64(half)+1))
}

// Reset forgets the failures.
func (b *backoffState) Reset() { b.failures = 0 }

// Failures is the number of consecutive failures.
func (b *backoffState) Failures() int { return b.failures }
