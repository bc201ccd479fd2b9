package reconcile

import (
	"time"

	"github.com/reconciler-dev/reconciler/internal/backoff"
)

// backoffState counts consecutive failures and asks the one backoff
// (internal/backoff: Min doubling to Max, equal jitter, so that a fleet
// that failed together does not retry in step) for the wait. One success
// resets it (Reset).
type backoffState struct {
	backoff.Exp
	failures int
}

// Fail records a failure and returns the wait before the next try.
func (b *backoffState) Fail() time.Duration {
	b.failures++
	return b.Delay(b.failures)
}

// Reset forgets the failures.
func (b *backoffState) Reset() { b.failures = 0 }

// Failures is the number of consecutive failures.
func (b *backoffState) Failures() int { return b.failures }
