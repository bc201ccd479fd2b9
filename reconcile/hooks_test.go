package reconcile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// fakeHook answers err and remembers each call and the hook record the
// state file held while it ran.
type fakeHook struct {
	l     Layout
	err   error
	calls []hookCall
}

type hookCall struct {
	from  string
	to    appdir.Target
	saved *SwitchHooks // state.json's record while the hook ran
}

func (h *fakeHook) Run(_ context.Context, from string, to appdir.Target) error {
	st, _ := h.l.LoadState()
	h.calls = append(h.calls, hookCall{from: from, to: to, saved: st.Hooks})
	return h.err
}

type recorded []Event

func (r *recorded) Notify(ev Event) { *r = append(*r, ev) }

const head2 = "2222222222222222222222222222222222222222"

// hookRig is an engine with fake hooks on a fake repo at version 1.0
// (head1); to2 moves the repo to version 2.0 (head2).
type hookRig struct {
	l             Layout
	repo          *fakeRepo
	sw            *fakeSwitcher
	pre, post, rb *fakeHook
	events        recorded
	e             *Engine
	bin1, bin2    string
}

func newHookRig(t *testing.T) *hookRig {
	l := Layout{Dir: t.TempDir()}
	os.MkdirAll(l.Release(), 0o755)
	r := &hookRig{l: l, sw: &fakeSwitcher{dir: l.Dir}, pre: &fakeHook{l: l}, post: &fakeHook{l: l}, rb: &fakeHook{l: l},
		bin1: l.BinFile("1.0"), bin2: l.BinFile("2.0")}
	r.repo = &fakeRepo{head: head1, files: map[string]string{"current.conf": `{"version": "1.0", "bin": {"path": "bin/app"}}`, "bin/app": "#!/bin/sh\n"}}
	r.e = &Engine{Layout: l, Path: "current.conf", Repo: r.repo, Switcher: r.sw, Notify: &r.events,
		Hooks: Hooks{PreSwitch: r.pre, PostSwitch: r.post, OnRollback: r.rb}}
	return r
}

func (r *hookRig) to2() {
	r.repo.head = head2
	r.repo.files["current.conf"] = `{"version": "2.0", "bin": {"path": "bin/app"}}`
}

func (r *hookRig) state(t *testing.T) State {
	st, err := r.l.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (r *hookRig) sync(t *testing.T, want error) {
	t.Helper()
	_, err := r.e.Sync(t.Context())
	if (want == nil) != (err == nil) || (want != nil && want != errAny && !errors.Is(err, want)) {
		t.Fatalf("sync: got %v, want %v", err, want)
	}
}

func wantCalls(t *testing.T, name string, h *fakeHook, n int) {
	t.Helper()
	if len(h.calls) != n {
		t.Errorf("%s hook: %d calls, want %d", name, len(h.calls), n)
	}
}

func wantEvent(t *testing.T, events recorded, want string) {
	t.Helper()
	for _, ev := range events {
		if ev.Kind == EventError && strings.Contains(ev.Error, want) {
			return
		}
	}
	t.Errorf("events: got %+v, want one failed saying %q", events, want)
}

// TestHooksAroundSync: each hook runs once around a switch to another
// release, saved as started in state.json while it runs; a failed
// pre-switch hook fails the revision and switches nothing; post-switch and
// on-rollback failures are notified.
func TestHooksAroundSync(t *testing.T) {
	t.Run("good switch", func(t *testing.T) {
		r := newHookRig(t)
		r.sync(t, nil)
		wantCalls(t, "pre-switch", r.pre, 1)
		wantCalls(t, "post-switch", r.post, 1)
		wantCalls(t, "on-rollback", r.rb, 0)
		c := r.pre.calls[0]
		if c.from != "" || c.to != (appdir.Target{Bin: r.bin1, Revision: head1}) {
			t.Errorf("pre-switch told %q -> %+v, want a first start of %s at %s", c.from, c.to, r.bin1, head1)
		}
		if s := c.saved; s == nil || len(s.Runs) != 1 || s.Runs[0].Hook != HookPreSwitch || !s.Runs[0].Finished.IsZero() || s.Revision != head1 {
			t.Errorf("state.json while the hook ran: %+v, want its start recorded", s)
		}
		if _, err := os.Stat(r.l.CurrentConf()); err != nil || r.sw.switches != 1 {
			t.Errorf("after the hooks: current.conf %v, %d switches; want both", err, r.sw.switches)
		}
		rec := r.state(t).Hooks
		if rec == nil || len(rec.Runs) != 2 || rec.Runs[0].Finished.IsZero() || rec.Runs[1].Hook != HookPostSwitch || rec.Runs[1].Finished.IsZero() {
			t.Errorf("state.json after: %+v, want both hooks recorded finished", rec)
		}
		r.sync(t, nil) // in sync: nothing runs
		os.Remove(filepath.Join(r.l.Dir, "app.bin"))
		r.sync(t, nil) // drift put back at the applied revision: no hook
		wantCalls(t, "pre-switch", r.pre, 1)
		wantCalls(t, "post-switch", r.post, 1)
		if r.sw.switches != 2 {
			t.Errorf("%d switches, want the drift put back", r.sw.switches)
		}
	})
	t.Run("pre-switch fails", func(t *testing.T) {
		r := newHookRig(t)
		r.sync(t, nil)
		r.to2()
		r.pre.err = errors.New("pre-switch hook: exit status 1")
		r.sync(t, errAny)
		if r.sw.switches != 1 || r.state(t).Applied.Version != "1.0" {
			t.Errorf("%d switches, want none after the failed hook", r.sw.switches-1)
		}
		if conf, _ := r.l.ReadLocalConf(); conf.Version != "1.0" {
			t.Errorf("current.conf: got version %s, want 1.0 untouched", conf.Version)
		}
		st := r.state(t)
		if f, ok := st.IsFailed(head2); !ok || !strings.Contains(f.Reason, "exit status 1") || !st.Hooks.Failed {
			t.Errorf("state: failed %+v, hooks %+v; want %s failed by the hook", st.Failed, st.Hooks, head2)
		}
		if st.LastError == nil || st.LastError.Class != ClassNeedsPerson {
			t.Errorf("last error: %+v, want class needs_person", st.LastError)
		}
		wantEvent(t, r.events, "pre-switch hook: exit status 1")
		r.sync(t, errFailedRevision)
		wantCalls(t, "pre-switch", r.pre, 2)
		wantCalls(t, "post-switch", r.post, 1)
	})
	t.Run("post-switch fails", func(t *testing.T) {
		r := newHookRig(t)
		r.post.err = errors.New("post-switch hook: exit status 7")
		r.sync(t, nil)
		if st := r.state(t); st.Applied == nil || st.Applied.Revision != head1 || len(st.Failed) != 0 {
			t.Errorf("state: %+v, want applied and nothing failed", st)
		}
		wantEvent(t, r.events, "post-switch hook: exit status 7")
	})
	t.Run("on-rollback", func(t *testing.T) {
		r := newHookRig(t)
		r.sync(t, nil)
		r.to2()
		r.sw.err = unhealthy{}
		r.rb.err = errors.New("on-rollback hook: exit status 2")
		r.sync(t, errAny)
		wantCalls(t, "on-rollback", r.rb, 1)
		wantCalls(t, "post-switch", r.post, 1)
		if c := r.rb.calls[0]; c.from != r.bin2 || c.to != (appdir.Target{Bin: r.bin1, Revision: head1}) {
			t.Errorf("on-rollback told %q -> %+v, want the switch back from %s to %s at %s", c.from, c.to, r.bin2, r.bin1, head1)
		}
		wantEvent(t, r.events, "on-rollback hook: exit status 2")
		if st := r.state(t); !st.Hooks.Failed || len(st.Hooks.Runs) != 2 {
			t.Errorf("hooks record: %+v, want the failed switch's pre-switch and on-rollback", st.Hooks)
		}
	})
	t.Run("judgement finished by the next agent", func(t *testing.T) {
		r := newHookRig(t)
		r.sync(t, nil)
		r.to2()
		ctx, stop := context.WithCancel(t.Context())
		stop() // the agent stops once the links moved, mid-bake
		r.sw.err, r.sw.linkFirst = context.Canceled, true
		if _, err := r.e.Sync(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("stopped sync: got %v", err)
		}
		next := *r.e // the next agent: a new engine on the same directory
		sw := &fakeSwitcher{dir: r.l.Dir, judgeErr: unhealthy{}}
		next.Switcher = sw
		if _, err := next.Sync(t.Context()); !isUnhealthy(err) {
			t.Fatalf("the next agent's pass: got %v, want the release switched back", err)
		}
		wantCalls(t, "pre-switch", r.pre, 2) // 1.0's and 2.0's, not again
		wantCalls(t, "on-rollback", r.rb, 1)
		if c := r.rb.calls[0]; c.from != r.bin2 || c.to != (appdir.Target{Bin: r.bin1, Revision: head1}) {
			t.Errorf("on-rollback told %q -> %+v, want the switch back from %s to %s at %s", c.from, c.to, r.bin2, r.bin1, head1)
		}
		found := false
		for _, ev := range r.events {
			found = found || ev.Kind == EventRolledBack && ev.Revision == head2 && ev.FromVersion == "2.0" && ev.ToVersion == "1.0"
		}
		if !found {
			t.Errorf("events: got %+v, want rolled_back 2.0 -> 1.0 at %s", r.events, head2[:8])
		}
	})
	t.Run("switch tried again", func(t *testing.T) {
		r := newHookRig(t)
		r.sw.err = errors.New("drain timeout")
		r.sync(t, errAny)
		r.sw.err = nil
		r.sync(t, nil)
		wantCalls(t, "pre-switch", r.pre, 1) // it ran for this switch already
		wantCalls(t, "post-switch", r.post, 1)
		// The switch left judging (a drain timeout is no verdict) is
		// tried again by the next pass through Judge.
		if r.sw.switches != 1 || r.sw.judges != 1 {
			t.Errorf("%d switches and %d judgements, want 1 and 1", r.sw.switches, r.sw.judges)
		}
	})
}

// TestHooksInterrupted: a hook that state.json says started and never
// finished (the agent died) is not run again; an interrupted pre-switch
// fails its revision, asking a person to check and retry.
func TestHooksInterrupted(t *testing.T) {
	for _, tc := range []struct {
		hook       HookKind
		wantFailed bool
	}{
		{HookPreSwitch, true},
		{HookPostSwitch, false},
	} {
		t.Run(string(tc.hook), func(t *testing.T) {
			r := newHookRig(t)
			r.sync(t, nil)
			r.to2()
			st := r.state(t)
			st.Hooks = &SwitchHooks{Revision: head2, Version: "2.0", Runs: []HookRun{{Hook: tc.hook, Started: time.Now()}}}
			if err := r.l.saveState(st); err != nil {
				t.Fatal(err)
			}
			_, err := r.e.Sync(t.Context())
			st = r.state(t)
			f, failed := st.IsFailed(head2)
			if failed != tc.wantFailed {
				t.Fatalf("sync: %v; head failed %v, want %v", err, failed, tc.wantFailed)
			}
			if failed && (!errors.Is(err, errFailedRevision) || !strings.Contains(f.Reason, "interrupted") ||
				!strings.Contains(f.Reason, "reconciler retry --dir "+r.l.Dir)) {
				t.Errorf("sync: %v; reason %q, want the revision skipped as interrupted, asking for a retry", err, f.Reason)
			}
			if failed {
				wantCalls(t, "pre-switch", r.pre, 1) // for 1.0 only
			}
			wantEvent(t, r.events, string(tc.hook)+" hook interrupted")
			if run := st.Hooks.Runs[0]; run.Finished.IsZero() || !strings.Contains(run.Error, "interrupted") {
				t.Errorf("record: %+v, want it finished as interrupted", run)
			}
		})
	}
}
