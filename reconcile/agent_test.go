package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/robfig/cron/v3"
)

// fakeReconciler records when it was asked to sync and answers from a
// script. It is the seam of the agent's timing logic; everything behind it
// is tested against real repos elsewhere.
type fakeReconciler struct {
	mu     sync.Mutex
	polls  []time.Time
	errs   []error // answers, in order; nil when exhausted
	local  int
	inSync bool
}

func (f *fakeReconciler) Sync(ctx context.Context) (Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls = append(f.polls, time.Now())
	var err error
	if len(f.errs) > 0 {
		err, f.errs = f.errs[0], f.errs[1:]
	}
	if err != nil {
		return Outcome{Result: PollError, Class: Classify(err)}, err
	}
	return Outcome{Result: PollUnchanged}, nil
}

func (f *fakeReconciler) ApplyLocal(context.Context) error { f.local++; return nil }
func (f *fakeReconciler) LocalInSync() bool                { return f.inSync }
func (f *fakeReconciler) Suspended() bool                  { return false }
func (f *fakeReconciler) AppExited(context.Context, AppExit) (time.Duration, bool) {
	return 0, false
}
func (f *fakeReconciler) RestartApp(context.Context) error { return nil }

func (f *fakeReconciler) gaps(start time.Time) []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []time.Duration
	prev := start
	for _, p := range f.polls {
		out = append(out, p.Sub(prev))
		prev = p
	}
	return out
}

func every(t *testing.T, spec string) cron.Schedule {
	s, err := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor).Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runAgent runs the agent in the bubble for d of fake time.
func runAgent(a *Agent, d time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	time.Sleep(d)
	cancel()
	<-done
}

func TestAgentPollsOnSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeReconciler{}
		a := NewAgent(f, every(t, "@every 30s"), nil)
		start := time.Now()
		runAgent(a, 95*time.Second)
		want := []time.Duration{0, 30 * time.Second, 30 * time.Second, 30 * time.Second}
		if got := f.gaps(start); !equalDurations(got, want) {
			t.Errorf("got gaps %v, want %v", got, want)
		}
		if f.local != 1 {
			t.Errorf("got %d start-up repairs, want 1", f.local)
		}
	})
}

func TestAgentJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeReconciler{}
		a := NewAgent(f, every(t, "@every 10s"), nil)
		a.Jitter = 5 * time.Second
		var asked []int64
		a.Rand = func(n int64) int64 { asked = append(asked, n); return int64(4 * time.Second) }
		start := time.Now()
		runAgent(a, 31*time.Second)
		if got, want := f.gaps(start), []time.Duration{0, 14 * time.Second, 14 * time.Second}; !equalDurations(got, want) {
			t.Errorf("got gaps %v, want %v: the period plus the drawn jitter", got, want)
		}
		if len(asked) == 0 || asked[0] != int64(5*time.Second) {
			t.Errorf("got jitter bounds %v, want 5s", asked)
		}
	})
}

func TestAgentBacksOffAndResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("git host down")
		f := &fakeReconciler{errs: []error{boom, boom, boom, boom, boom, boom, boom, nil}}
		a := NewAgent(f, every(t, "@every 1m"), nil)
		a.MaxBackoff = 20 * time.Second
		a.Rand = func(n int64) int64 { return n - 1 } // the top of the jitter: the plain doubling
		start := time.Now()
		runAgent(a, 3*time.Minute)
		s := time.Second
		// 7 failures back off 1s..20s (capped), the success returns to the schedule.
		want := []time.Duration{0, 1 * s, 2 * s, 4 * s, 8 * s, 16 * s, 20 * s, 20 * s, time.Minute}
		if got := f.gaps(start); !equalDurations(got, want) {
			t.Errorf("got gaps %v, want %v", got, want)
		}
	})
}

func TestAgentFailedRevisionIsNotAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeReconciler{errs: []error{errFailedRevision, errFailedRevision}}
		a := NewAgent(f, every(t, "@every 30s"), nil)
		start := time.Now()
		runAgent(a, 61*time.Second)
		if got, want := f.gaps(start), []time.Duration{0, 30 * time.Second, 30 * time.Second}; !equalDurations(got, want) {
			t.Errorf("got gaps %v, want the plain schedule %v (no fast retry of a failed revision)", got, want)
		}
	})
}

func TestAgentTriggersCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeReconciler{}
		a := NewAgent(f, every(t, "@every 1h"), nil)
		for i := 0; i < 50; i++ {
			a.Trigger() // a burst of webhooks, while the agent starts
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { a.Run(ctx); close(done) }()
		synctest.Wait() // the start-up poll and the burst's one are done
		if n := len(f.polls); n < 1 || n > 2 {
			t.Errorf("start-up and a burst of 50 triggers: got %d polls, want 1 or 2", n)
		}
		before := len(f.polls)
		time.Sleep(time.Second)
		a.Trigger()
		synctest.Wait()
		if n := len(f.polls) - before; n != 1 {
			t.Errorf("a later trigger: got %d polls, want 1", n)
		}
		f.inSync = true
		a.LocalChanged() // our own write: no poll
		synctest.Wait()
		f.inSync = false
		a.LocalChanged() // a hand edit: poll, to put it back
		synctest.Wait()
		cancel()
		<-done
		if n := len(f.polls) - before; n != 2 {
			t.Errorf("after our own write and a hand edit: got %d more polls, want 2", n)
		}
	})
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestAgentNeedsPersonPollsOnSchedule: an error no wait fixes (a broken
// desired file) is not backed off: the fix, a commit, deploys within one
// period.
func TestAgentNeedsPersonPollsOnSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := fmt.Errorf("web/current.conf: %w: key \"bin\" is required", ErrInvalidDesired)
		f := &fakeReconciler{errs: []error{bad, bad, bad, nil}}
		a := NewAgent(f, every(t, "@every 10s"), nil)
		start := time.Now()
		runAgent(a, 35*time.Second)
		want := []time.Duration{0, 10 * time.Second, 10 * time.Second, 10 * time.Second}
		if got := f.gaps(start); !equalDurations(got, want) {
			t.Errorf("got gaps %v, want %v: polled on the schedule, no backoff", got, want)
		}
	})
}
