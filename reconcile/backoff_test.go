package reconcile

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestAgentBackoffJitter: the wait after a failure is drawn from [d/2, d]
// of the doubling wait d (equal jitter): at the bottom of the draw the
// agent polls again after half of it, and the agent asks for the draw
// over exactly that half.
func TestAgentBackoffJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("git host down")
		f := &fakeReconciler{errs: []error{boom, boom, boom, boom, boom, nil}}
		a := NewAgent(f, every(t, "@every 1m"), nil)
		a.MaxBackoff = 8 * time.Second
		var asked []int64
		a.Rand = func(n int64) int64 { asked = append(asked, n); return 0 }
		start := time.Now()
		runAgent(a, 2*time.Minute)
		s := time.Second
		// The last gap: "@every" ticks on whole seconds, 59.5s after 11.5s.
		want := []time.Duration{0, s / 2, 1 * s, 2 * s, 4 * s, 4 * s, time.Minute - s/2}
		if got := f.gaps(start); !equalDurations(got, want) {
			t.Errorf("got gaps %v, want %v: half of 1s, 2s, 4s, 8s, 8s", got, want)
		}
		wantAsked := []int64{int64(s/2) + 1, int64(s) + 1, int64(2*s) + 1, int64(4*s) + 1, int64(4*s) + 1}
		if !slices.Equal(asked, wantAsked) {
			t.Errorf("got draws over %v, want over %v", asked, wantAsked)
		}
	})
}

// TestAgentBackoffSpread: a fleet that failed at the same moment does not
// retry at the same moment: 20 agents with the default random source
// retry within [500ms, 1s] of their failure, at different times.
func TestAgentBackoffSpread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const fleet = 20
		boom := errors.New("git host down")
		var (
			wg    sync.WaitGroup
			fakes []*fakeReconciler
		)
		start := time.Now()
		for range fleet {
			f := &fakeReconciler{errs: []error{boom, nil}}
			fakes = append(fakes, f)
			wg.Go(func() { runAgent(NewAgent(f, every(t, "@every 1h"), nil), time.Minute) })
		}
		wg.Wait()
		retries := map[time.Duration]bool{}
		for _, f := range fakes {
			gaps := f.gaps(start)
			if len(gaps) < 2 || gaps[1] < 500*time.Millisecond || gaps[1] > time.Second {
				t.Fatalf("got gaps %v, want a retry within [500ms, 1s] of the first failure", gaps)
			}
			retries[gaps[1]] = true
		}
		if len(retries) < 2 {
			t.Errorf("all %d agents retried after the same wait %v: no jitter", fleet, retries)
		}
	})
}
