package reconcile

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestParseCrashLoop(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want CrashLoop
		err  string
	}{
		{"3/10m", CrashLoop{Exits: 3, Window: 10 * time.Minute}, ""},
		{"5/1h", CrashLoop{Exits: 5, Window: time.Hour}, ""},
		{"0", CrashLoop{}, ""},
		{"3", CrashLoop{}, "want N/DURATION"},
		{"0/10m", CrashLoop{}, "want N/DURATION"},
		{"x/10m", CrashLoop{}, "want N/DURATION"},
		{"3/ten", CrashLoop{}, `the window "ten"`},
		{"3/-1m", CrashLoop{}, "not a positive duration"},
	} {
		got, err := ParseCrashLoop(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: got %v, want an error saying %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	if s := DefaultCrashLoop.String(); s != "3/10m" {
		t.Errorf("default: got %q, want 3/10m (as a person writes it)", s)
	}
	if s := (CrashLoop{Exits: 2, Window: 2 * time.Hour}).String(); s != "2/2h" {
		t.Errorf("2/2h: got %q", s)
	}
}

func TestRestartDelay(t *testing.T) {
	want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, 64 * time.Second, 128 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := restartDelay(i + 1); got != w {
			t.Errorf("exit %d of a streak: got %s, want %s", i+1, got, w)
		}
	}
}

// restartRecorder is a real Engine (state file, exits, backoff) whose
// polls and starts are recorded, not done: the agent's restart timing
// under a fake clock.
type restartRecorder struct {
	*Engine
	mu       sync.Mutex
	restarts []time.Time
}

func (r *restartRecorder) Sync(context.Context) (Outcome, error) {
	return Outcome{Result: PollUnchanged}, nil
}
func (r *restartRecorder) ApplyLocal(context.Context) error { return nil }
func (r *restartRecorder) RestartApp(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restarts = append(r.restarts, time.Now())
	r.startHold = time.Time{}
	return nil
}

func (r *restartRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.restarts)
}

// TestAgentRestartBackoff: an app that keeps dying is started again at
// once, then after 1 s, 2 s, 4 s... up to 5 minutes; after 10 minutes up,
// its next exit starts a new streak (at once again). Every exit is kept in
// the state file, and app_exited is told once per streak.
func TestAgentRestartBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := Layout{Dir: t.TempDir()}
		var events recorded
		rec := &restartRecorder{Engine: &Engine{Layout: l, Notify: &events}}
		a := NewAgent(rec, every(t, "@every 1h"), nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- a.Run(ctx) }()
		exit := func() time.Duration {
			before, at := rec.count(), time.Now()
			a.AppExited(AppExit{Time: at.UTC(), PID: 100 + before, BinFile: l.BinFile("2"), Status: "exit code 1"})
			for rec.count() == before {
				time.Sleep(10 * time.Millisecond) // the fake clock: no real wait
			}
			return rec.restarts[before].Sub(at).Truncate(100 * time.Millisecond)
		}
		var got []time.Duration
		for range 12 {
			got = append(got, exit())
		}
		want := []time.Duration{0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300}
		for i := range want {
			if got[i] != want[i]*time.Second {
				t.Errorf("restart after exit %d: got %s, want %s", i+1, got[i], want[i]*time.Second)
			}
		}
		time.Sleep(exitStreakGap + time.Second) // up 10 minutes: the streak is over
		if d := exit(); d != 0 {
			t.Errorf("first exit of a new streak: restarted after %s, want at once", d)
		}
		st, _ := l.LoadState()
		if len(st.Exits) != 13 {
			t.Errorf("state: %d exits kept, want 13", len(st.Exits))
		}
		var told int
		for _, ev := range events {
			if ev.Kind == EventAppExited {
				told++
			}
		}
		if told != 2 {
			t.Errorf("app_exited told %d times, want 2 (once per streak)", told)
		}
		cancel()
		<-done
	})
}

// crashRig is the hook rig switched from 1.0 to 2.0 with the crash-loop
// rule 3/10m.
func crashRig(t *testing.T) *hookRig {
	r := newHookRig(t)
	r.e.Exits = ExitPolicy{CrashLoop: DefaultCrashLoop}
	r.sync(t, nil)
	r.to2()
	r.sync(t, nil)
	if st := r.state(t); st.Switch == nil || st.Switch.To.Version != "2.0" || st.Switch.Verdict != VerdictGood {
		t.Fatalf("switch record after 2.0: %+v", st.Switch)
	}
	return r
}

func (r *hookRig) exit(t *testing.T, after time.Duration) (time.Duration, bool) {
	st := r.state(t)
	return r.e.AppExited(t.Context(), AppExit{Time: st.Switch.Started.Add(after), PID: 7, BinFile: r.bin2, Status: "exit code 1"})
}

// TestCrashLoopSwitchesBack: the third exit within 10 minutes of the
// switch fails the release: current.conf and the links go back to 1.0,
// the revision is recorded failed, the on-rollback hook runs, rolled_back
// quotes the exits, and no restart of 2.0 follows.
func TestCrashLoopSwitchesBack(t *testing.T) {
	r := crashRig(t)
	for i, at := range []time.Duration{3 * time.Second, 7 * time.Second} {
		if _, ok := r.exit(t, at); !ok {
			t.Fatalf("exit %d: no restart", i+1)
		}
	}
	switches := r.sw.switches
	if _, ok := r.exit(t, 11*time.Second); ok {
		t.Error("third exit: a restart of the crash-looping release")
	}
	st := r.state(t)
	if f, ok := st.IsFailed(head2); !ok || !strings.Contains(f.Reason, "crash loop") || !strings.Contains(f.Reason, "+11s pid 7 exit code 1") {
		t.Errorf("failed: got %+v, want head2 failed for its crash loop, exits quoted", st.Failed)
	}
	if st.Switch.Verdict != VerdictFailed {
		t.Errorf("switch verdict: got %s, want failed", st.Switch.Verdict)
	}
	if conf, _ := r.l.ReadLocalConf(); conf.Version != "1.0" {
		t.Errorf("current.conf: got %s, want 1.0", conf.Version)
	}
	if r.sw.switches != switches+1 {
		t.Errorf("switches: got %d, want one more (back to 1.0)", r.sw.switches-switches)
	}
	if target, _ := os.Readlink(r.l.BinLink()); target != r.bin1 {
		t.Errorf("app.bin: got %s, want %s", target, r.bin1)
	}
	if len(r.rb.calls) != 1 || r.rb.calls[0].to.Bin != r.bin1 || r.rb.calls[0].from != r.bin2 {
		t.Errorf("on-rollback hook: got %+v, want one call from 2.0 to 1.0", r.rb.calls)
	}
	var rb *Event
	for i := range r.events {
		if r.events[i].Kind == EventRolledBack {
			rb = &r.events[i]
		}
	}
	if rb == nil || rb.FromVersion != "2.0" || rb.ToVersion != "1.0" || strings.Count(rb.Error, "exit code 1") != 3 {
		t.Errorf("rolled_back: got %+v, want 2.0 failed back to 1.0 with three exits", rb)
	}
	r.sync(t, errFailedRevision) // the head is not tried again
	if target, _ := os.Readlink(r.l.BinLink()); target != r.bin1 {
		t.Errorf("after the next pass app.bin: got %s, want %s", target, r.bin1)
	}
}

// TestCrashLoopWindowAndOff: exits after the window, or with the rule
// off, only restart the app; a first release that crash-loops has nothing
// to go back to: failed, current.conf removed.
func TestCrashLoopWindowAndOff(t *testing.T) {
	r := crashRig(t)
	for _, at := range []time.Duration{time.Second, 11 * time.Minute, 12 * time.Minute} {
		if _, ok := r.exit(t, at); !ok {
			t.Errorf("exit at +%s: no restart", at)
		}
	}
	if st := r.state(t); len(st.Failed) != 0 {
		t.Errorf("exits outside the window failed the release: %+v", st.Failed)
	}

	r = crashRig(t)
	r.e.Exits.CrashLoop = CrashLoop{}
	for _, at := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second} {
		if _, ok := r.exit(t, at); !ok {
			t.Errorf("--crash-loop 0, exit at +%s: no restart", at)
		}
	}
	if st := r.state(t); len(st.Failed) != 0 {
		t.Errorf("--crash-loop 0 failed the release: %+v", st.Failed)
	}

	first := newHookRig(t)
	first.e.Exits = ExitPolicy{CrashLoop: CrashLoop{Exits: 2, Window: time.Minute}}
	first.sync(t, nil)
	st := first.state(t)
	for _, at := range []time.Duration{time.Second, 2 * time.Second} {
		first.e.AppExited(t.Context(), AppExit{Time: st.Switch.Started.Add(at), PID: 7, BinFile: first.bin1, Status: "exit code 1"})
	}
	if st := first.state(t); !isFailed(st, head1) {
		t.Error("a first release that crash-loops is not recorded failed")
	}
	if _, err := first.l.ReadLocalConf(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("current.conf after a first release crash-looped: %v, want it removed", err)
	}
}

// TestStatusHealthy: status exits 1 (not Healthy) while the head failed,
// the rollout failed here, or the app exited more than once in 10
// minutes; a deferral is no fault.
func TestStatusHealthy(t *testing.T) {
	up := func() Status {
		return Status{App: &AppStatus{PID: 1, Up: true, Current: true}, LastPoll: &Poll{Result: PollUnchanged}}
	}
	for _, tc := range []struct {
		name string
		edit func(*Status)
		want bool
	}{
		{"up", func(*Status) {}, true},
		{"deferred", func(s *Status) { s.Deferred = &Deferred{}; s.LastPoll.Result = PollDeferred }, true},
		{"one exit", func(s *Status) { s.Exits = make([]AppExit, 1) }, true},
		{"two exits", func(s *Status) { s.Exits = make([]AppExit, 2) }, false},
		{"head failed", func(s *Status) { s.HeadFailed = &Failed{}; s.LastPoll.Result = PollSkipped }, false},
		{"rollout failed", func(s *Status) { s.Rollout = &RolloutStatus{State: RolloutFailed} }, false},
		{"rollout applied", func(s *Status) { s.Rollout = &RolloutStatus{State: RolloutApplied} }, true},
		{"down", func(s *Status) { s.App = &AppStatus{} }, false},
	} {
		s := up()
		tc.edit(&s)
		if got := s.Healthy(); got != tc.want {
			t.Errorf("%s: Healthy() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func isFailed(st State, rev string) bool {
	_, ok := st.IsFailed(rev)
	return ok
}
