package reconcile

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shutWindows are deploy windows that are closed now and open in an hour.
type shutWindows struct{}

func (shutWindows) Open(time.Time) bool                    { return false }
func (shutWindows) NextOpen(t time.Time) (time.Time, bool) { return t.Add(time.Hour), true }
func (shutWindows) String() string                         { return "shut" }
func (r *hookRig) save(t *testing.T, edit func(st *State)) {
	t.Helper()
	st := r.state(t)
	edit(&st)
	r.mustSave(t, st)
}
func (r *hookRig) mustSave(t *testing.T, st State) { t.Helper(); mustNil(t, r.l.saveState(st)) }
func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
func (r *hookRig) conf(t *testing.T) LocalConf {
	t.Helper()
	c, err := r.l.ReadLocalConf()
	mustNil(t, err)
	return c
}
func diffWord(p Plan, err error) string      { return sayWord(p.blockedBy, err, p.Changes()) }
func syncWord(out Outcome, err error) string { return out.Result }
func sayWord(b *blocked, err error, changes bool) string {
	switch {
	case err != nil:
		return PollError
	case b != nil && b.Failed != nil:
		return PollSkipped
	case b != nil && b.Suspended != nil:
		return PollSuspended
	case b != nil && b.Deferred != nil:
		return PollDeferred
	case changes:
		return PollApplied
	}
	return PollUnchanged
}

// rollout moves the repo to head2, a rollout of 2.0 over 1.9 at percent,
// and places this host as host (web-001 is in a 10% wave, web-017 out).
func (r *hookRig) rollout(host, percent string) {
	r.repo.head = head2
	r.repo.files["current.conf"] = rolloutFile(percent, ``)
	r.repo.files["bin/2.0"], r.repo.files["bin/1.9"] = "#!/bin/sh\n# 2.0\n", "#!/bin/sh\n# 1.9\n"
	r.e.HostID = host
}

// dirSnapshot is every name under dir with its mode and content (a
// link's target): what diff must leave as it found it.
func dirSnapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		b.WriteString(path + " " + fi.Mode().String())
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			b.WriteString(" -> " + target)
		case fi.Mode().IsRegular():
			data, _ := os.ReadFile(path)
			b.WriteString(" " + string(data))
		}
		b.WriteString("\n")
		return nil
	})
	mustNil(t, err)
	return b.String()
}

// TestDiffAgreesWithSync runs every way a pass can end through Diff and
// then through Sync on the same directory: what diff says (blocked and
// why, changes, in sync, an error, a judgement first) is what the sync
// does, and diff changes nothing in the directory.
func TestDiffAgreesWithSync(t *testing.T) {
	mismatchURL := "http://127.0.0.1:1/app-2.0"
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, r *hookRig)
		judges bool // sync finishes a judgement first
	}{
		{name: "deploys", setup: func(t *testing.T, r *hookRig) { r.to2() }},
		{name: "in sync", setup: func(t *testing.T, r *hookRig) {}},
		{name: "drift put back", setup: func(t *testing.T, r *hookRig) { os.Remove(filepath.Join(r.l.Dir, "app.bin")) }},
		{name: "failed head", setup: func(t *testing.T, r *hookRig) {
			r.to2()
			r.save(t, func(st *State) { st.markFailed(Failed{Revision: head2, Version: "2.0", Reason: "earlier"}) })
		}},
		{name: "failed head, retry asked", setup: func(t *testing.T, r *hookRig) {
			r.to2()
			r.save(t, func(st *State) { st.markFailed(Failed{Revision: head2, Version: "2.0", Reason: "earlier"}) })
			mustNil(t, r.l.RequestRetry(head2))
		}},
		{name: "suspended", setup: func(t *testing.T, r *hookRig) {
			r.to2()
			mustNil(t, r.l.Suspend("maintenance", r.e.now()))
		}},
		{name: "failed and suspended", setup: func(t *testing.T, r *hookRig) {
			r.to2()
			r.save(t, func(st *State) { st.markFailed(Failed{Revision: head2, Version: "2.0", Reason: "earlier"}) })
			mustNil(t, r.l.Suspend("maintenance", r.e.now()))
		}},
		{name: "outside the windows", setup: func(t *testing.T, r *hookRig) {
			r.to2()
			r.e.Windows = shutWindows{}
		}},
		{name: "outside the windows, ignored", setup: func(t *testing.T, r *hookRig) {
			r.to2()
			r.e.Windows, r.e.IgnoreWindows = shutWindows{}, true
		}},
		{name: "outside the windows, in sync", setup: func(t *testing.T, r *hookRig) { r.e.Windows = shutWindows{} }},
		{name: "pre-switch hook of the head interrupted", setup: func(t *testing.T, r *hookRig) {
			r.to2()
			r.save(t, func(st *State) {
				st.Hooks = &SwitchHooks{Revision: head2, Version: "2.0", FromVersion: "1.0",
					Runs: []HookRun{{Hook: HookPreSwitch, Started: r.e.now().Add(-time.Minute)}}}
			})
		}},
		{name: "download refused before", setup: func(t *testing.T, r *hookRig) {
			r.to2()
			sum := strings.Repeat("ab", 32)
			r.repo.files["current.conf"] = `{"version": "2.0", "bin": {"url": "` + mismatchURL + `", "sha256": "` + sum + `"}}`
			r.save(t, func(st *State) {
				st.rememberMismatch(Mismatch{Revision: head2, URL: mismatchURL, Want: sum, Got: strings.Repeat("cd", 32), Bytes: 3, Time: r.e.now()})
			})
		}},
		{name: "rollout, this host in the wave", setup: func(t *testing.T, r *hookRig) { r.rollout("web-001", "10") }},
		{name: "rollout, this host outside the wave", setup: func(t *testing.T, r *hookRig) { r.rollout("web-017", "10") }},
		{name: "rollout failed here before", setup: func(t *testing.T, r *hookRig) {
			r.rollout("web-001", "100")
			r.save(t, func(st *State) {
				st.RolloutsFailed = append(st.RolloutsFailed, RolloutFailure{ID: "web-2.0", Version: "2.0", Reason: "earlier"})
			})
		}},
		{name: "switch left judging", judges: true, setup: func(t *testing.T, r *hookRig) {
			conf := r.conf(t)
			r.save(t, func(st *State) {
				st.Switch = &SwitchRecord{Revision: head1, To: conf, Started: r.e.now(), Verdict: VerdictJudging}
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newHookRig(t)
			r.sync(t, nil) // 1.0 applied
			tc.setup(t, r)
			before := dirSnapshot(t, r.l.Dir)
			plan, err := r.e.Diff(t.Context())
			if after := dirSnapshot(t, r.l.Dir); after != before {
				t.Errorf("diff changed the directory:\nbefore\n%s\nafter\n%s", before, after)
			}
			if n := len(r.events); n != 1 { // the first sync's applied
				t.Errorf("diff told %d events: %+v, want none", n-1, r.events[1:])
			}
			judgesBefore := r.sw.judges
			out, serr := r.e.Sync(t.Context())
			if d, s := diffWord(plan, err), syncWord(out, serr); d != s {
				t.Errorf("diff says %s (blocked %+v, err %v), sync did %s (err %v)", d, plan.blockedBy, err, s, serr)
			}
			if out.Result == PollApplied && plan.to.Version != out.Version {
				t.Errorf("diff plans version %s, sync applied %s", plan.to.Version, out.Version)
			}
			if judged := r.sw.judges > judgesBefore; (plan.judging != nil) != judged || judged != tc.judges {
				t.Errorf("diff says a judgement first: %v; sync judged: %v; want %v", plan.judging != nil, judged, tc.judges)
			}
		})
	}
}
