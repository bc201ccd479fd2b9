package backoff_test

import (
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/backoff"
)

func bottom(int64) int64   { return 0 }
func top(n int64) int64    { return n - 1 }
func middle(n int64) int64 { return n / 2 }

// TestDelay: the doubling, its cap, the defaults, and the jitter's bounds,
// including an odd duration (whose top the old notify copy missed by a
// nanosecond, and whose bottom it put below the half).
func TestDelay(t *testing.T) {
	const s = time.Second
	for _, tc := range []struct {
		name     string
		e        backoff.Exp
		n        int
		full     time.Duration
		low, top time.Duration
	}{
		{"first", backoff.Exp{Min: s, Max: 8 * s}, 1, s, s / 2, s},
		{"doubles", backoff.Exp{Min: s, Max: 8 * s}, 3, 4 * s, 2 * s, 4 * s},
		{"capped", backoff.Exp{Min: s, Max: 5 * s}, 4, 5 * s, 2500 * time.Millisecond, 5 * s},
		{"no overflow", backoff.Exp{Min: s, Max: 15 * time.Minute}, 200, 15 * time.Minute, 450 * s, 15 * time.Minute},
		{"default min", backoff.Exp{Max: time.Minute}, 2, 2 * s, s, 2 * s},
		{"zero max: never grows", backoff.Exp{Min: s}, 5, s, s / 2, s},
		{"max below min is min", backoff.Exp{Min: 20 * s, Max: 8 * s}, 3, 20 * s, 10 * s, 20 * s},
		{"odd", backoff.Exp{Min: 3, Max: 3}, 1, 3, 2, 3},
		{"one nanosecond", backoff.Exp{Min: 1, Max: 1}, 1, 1, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Full(tc.n); got != tc.full {
				t.Errorf("Full(%d) = %v, want %v", tc.n, got, tc.full)
			}
			tc.e.Rand = bottom
			if got := tc.e.Delay(tc.n); got != tc.low {
				t.Errorf("Delay(%d) at the bottom of the draw = %v, want %v", tc.n, got, tc.low)
			}
			tc.e.Rand = top
			if got := tc.e.Delay(tc.n); got != tc.top {
				t.Errorf("Delay(%d) at the top of the draw = %v, want %v", tc.n, got, tc.top)
			}
			tc.e.Rand = nil
			for range 100 {
				if got := tc.e.Delay(tc.n); got < tc.low || got > tc.top {
					t.Fatalf("Delay(%d) = %v, want within [%v, %v]", tc.n, got, tc.low, tc.top)
				}
			}
		})
	}
}

// TestDelayDrawsOverHalf: the draw is over exactly the upper half (plus
// one, so the top is reachable).
func TestDelayDrawsOverHalf(t *testing.T) {
	var asked int64
	e := backoff.Exp{Min: time.Second, Max: time.Minute, Rand: func(n int64) int64 { asked = n; return middle(n) }}
	e.Delay(2)
	if want := int64(time.Second) + 1; asked != want {
		t.Errorf("drew over %d, want %d", asked, want)
	}
}
