package gitsrc

import (
	"context"
	"errors"
	"fmt"
)

// DefaultPushAttempts is how many reads and pushes a writer makes when
// its pushes are rejected, unless told otherwise.
const DefaultPushAttempts = 3

// RetryRejected runs attempt (numbered from 1) again while it fails with
// an error wrapping ErrPushRejected (someone pushed between its read and
// its push), up to attempts times in all (0 or less: DefaultPushAttempts),
// or until ctx ends. Each attempt must open the branch afresh, read it and
// decide again: it is the one loop of every writer (reconciler promote,
// reconciler bump). It returns the attempts made and the last error,
// saying how many were rejected when all were.
func RetryRejected(ctx context.Context, attempts int, attempt func(ctx context.Context, n int) error) (int, error) {
	if attempts <= 0 {
		attempts = DefaultPushAttempts
	}
	for n := 1; ; n++ {
		err := attempt(ctx, n)
		if !errors.Is(err, ErrPushRejected) {
			return n, err
		}
		if n >= attempts || ctx.Err() != nil {
			return n, fmt.Errorf("%w (%d attempts, each rejected)", err, n)
		}
	}
}
