package reconcile

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/reconciler-dev/reconciler/internal/window"
)

// deferringEngine is deferred until opens, then applies: the engine seam
// of the agent's wake-up at a window's start.
type deferringEngine struct {
	fakeReconciler
	opens time.Time
}

func (d *deferringEngine) Sync(ctx context.Context) (Outcome, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	d.polls = append(d.polls, now)
	if now.Before(d.opens) {
		return Outcome{Result: PollDeferred, Opens: d.opens}, fmt.Errorf("not deploying: %w", ErrDeferred)
	}
	return Outcome{Result: PollApplied}, nil
}

// TestAgentWakesAtWindowOpening: while deferred, the next poll is at the
// sooner of the schedule's next tick and the window's opening.
func TestAgentWakesAtWindowOpening(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opens time.Duration // after the start
		want  []time.Duration
	}{
		{"opens before the next tick", 90 * time.Second, []time.Duration{0, 90 * time.Second, time.Hour}},
		{"opens after the next tick", 2 * time.Hour, []time.Duration{0, time.Hour, time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				f := &deferringEngine{opens: start.Add(tc.opens)}
				a := NewAgent(f, every(t, "@every 1h"), nil)
				runAgent(a, 2*time.Hour+time.Minute)
				if got := f.gaps(start); !equalDurations(got, tc.want) {
					t.Errorf("got gaps %v, want %v", got, tc.want)
				}
			})
		})
	}
}

// TestAgentDeploysAtWindowStart runs the real engine and real windows
// under the agent on a fake clock (it starts at 2000-01-01 00:00 UTC): the
// start-up poll is deferred, and the release is applied at 10:00 sharp,
// the window's start, though the schedule's next poll is a day away.
func TestAgentDeploysAtWindowStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := Layout{Dir: t.TempDir()}
		os.MkdirAll(l.Release(), 0o755)
		repo := &fakeRepo{head: head1, files: map[string]string{
			"current.conf": `{"version": "1.0", "bin": {"path": "bin/app"}}`, "bin/app": "#!/bin/sh\n"}}
		win, err := window.Parse("CRON_TZ=UTC 0 10 * * * 1h")
		if err != nil {
			t.Fatal(err)
		}
		note := &recordNotifier{}
		e := &Engine{Layout: l, Path: "current.conf", Repo: repo, Switcher: &fakeSwitcher{dir: l.Dir}, Notify: note,
			Windows: window.Set{Allow: []*window.Window{win}}}
		a := NewAgent(e, every(t, "@every 24h"), nil)
		var wg sync.WaitGroup
		ctx, cancel := context.WithCancel(t.Context())
		wg.Go(func() { a.Run(ctx) })
		synctest.Wait()
		if st, _ := l.LoadState(); st.LastPoll == nil || st.LastPoll.Result != PollDeferred || st.Applied != nil {
			t.Errorf("after the start-up poll: last poll %+v, applied %+v; want deferred, nothing applied", st.LastPoll, st.Applied)
		}
		time.Sleep(11 * time.Hour)
		cancel()
		wg.Wait()
		st, _ := l.LoadState()
		if want := time.Date(2000, 1, 1, 10, 0, 0, 0, time.UTC); st.Applied == nil || !st.Applied.Time.Equal(want) {
			t.Errorf("applied %+v, want applied at %s", st.Applied, want)
		}
		if n := len(note.kinds(EventDeferred)); n != 1 {
			t.Errorf("%d deferred events, want 1", n)
		}
	})
}
