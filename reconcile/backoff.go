package reconcile

import "time"

// backoffState computes the wait after consecutive failures: Min, doubling,
// capped at Max. One success resets it (Reset).
type backoffState struct {
	Min, Max time.Duration
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
	return d
}

// Reset forgets the failures.
func (b *backoffState) Reset() { b.failures = 0 }

// Failures is the number of consecutive failures.
func (b *backoffState) Failures() int { return b.failures }
