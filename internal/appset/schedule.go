package appset

import (
	"math/rand/v2"
	"time"
)

// Polls of the apps of one agent fall on the same ticks, so that the apps
// following one deploy repo share a ref listing (gitsrc.Shared shares one
// that began less than half a second before). A cron spec's ticks are on
// the clock already; an "@every D" schedule counts from the end of the
// last poll, so apps whose polls took different times drift apart: Every
// puts its ticks on a grid of D instead. And the jitter, drawn per poll and
// per app, would scatter them: Phase draws it once for the agent.

// Every is the schedule "@every d" on a grid: the ticks are the multiples
// of d (counted from the zero time), whatever time the last poll ended.
type Every time.Duration

// Next returns the first tick after t.
func (e Every) Next(t time.Time) time.Time {
	d := time.Duration(e)
	if d <= 0 {
		d = time.Second
	}
	return t.Truncate(d).Add(d)
}

// Phase returns a random source for reconcile.Agent.Rand that answers the
// same share of n for every poll of every app: the agent's polls are one
// random delay after the tick (as many agents of a fleet are spread), and
// its apps with the same --jitter poll together.
func Phase() func(n int64) int64 {
	seed := rand.Uint64()
	return func(n int64) int64 {
		if n <= 0 {
			return 0
		}
		return int64(seed % uint64(n))
	}
}
