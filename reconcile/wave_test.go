package reconcile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// rolloutFile is a desired file rolling 2.0 out over 1.9, both given by
// path, with percent and canary as given.
func rolloutFile(percent, canary string) string {
	return `{"version": "2.0", "bin": {"path": "bin/2.0"}, "rollout": {"id": "web-2.0",
		"from": {"version": "1.9", "bin": {"path": "bin/1.9"}}, "canary": [` + canary + `], "percent": ` + percent + `}}`
}

// TestRolloutPlacesHosts: each host runs what its place in the wave says,
// and a host whose switch to the rollout's version failed stays on from
// for that rollout, whatever later commits of it say.
func TestRolloutPlacesHosts(t *testing.T) {
	files := func(desired string) map[string]string {
		return map[string]string{"current.conf": desired, "bin/2.0": "#!/bin/sh\n# 2.0\n", "bin/1.9": "#!/bin/sh\n# 1.9\n"}
	}
	// web-001's bucket in web-2.0 is 655, web-017's 2335 (TestBucketVectors).
	for _, tc := range []struct {
		name, host, desired string
		switchErr           error
		wantVersion         string // linked after the pass
		wantState           string
	}{
		{"canary", "web-017", rolloutFile("0", `"web-017"`), nil, "2.0", RolloutApplied},
		{"in by bucket", "web-001", rolloutFile("10", ``), nil, "2.0", RolloutApplied},
		{"out by bucket: a new host installs from", "web-017", rolloutFile("10", ``), nil, "1.9", RolloutOut},
		{"in, and its switch fails", "web-001", rolloutFile("10", ``), unhealthy{}, "", RolloutFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Layout{Dir: t.TempDir()}
			os.MkdirAll(l.Release(), 0o755)
			repo := &fakeRepo{head: head1, files: files(tc.desired)}
			sw := &fakeSwitcher{dir: l.Dir, err: tc.switchErr}
			reg := prometheus.NewRegistry()
			rec := &recorder{}
			e := &Engine{Layout: l, Path: "current.conf", Repo: repo, Switcher: sw, HostID: tc.host, Metrics: NewMetrics(reg, nil), Notify: rec}
			out, _ := e.Sync(t.Context())
			if len(rec.events) != 1 || rec.events[0].Rollout != "web-2.0" {
				t.Errorf("events %+v, want one naming rollout web-2.0", rec.events)
			}
			if got := linkedVersion(t, l); got != tc.wantVersion {
				t.Errorf("links point at %q, want %q", got, tc.wantVersion)
			}
			st, _ := l.LoadState()
			if st.Rollout == nil || st.Rollout.State != tc.wantState || out.Wave == nil || st.Rollout.HostID != tc.host {
				t.Fatalf("rollout status %+v, want state %s", st.Rollout, tc.wantState)
			}
			want := []string{"host_id=" + tc.host + ",rollout=web-2.0,state=" + tc.wantState}
			if got := series(t, reg, "reconciler_rollout_state"); strings.Join(got, ";") != strings.Join(want, ";") {
				t.Errorf("reconciler_rollout_state: %v, want %v", got, want)
			}
			if tc.switchErr == nil {
				return
			}
			// The rollout widens to 100% in a later commit: this host
			// stays on from, and reports failed.
			sw.err = nil
			repo.head = "2222222222222222222222222222222222222222"
			repo.files = files(rolloutFile("100", ``))
			if _, err := e.Sync(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := linkedVersion(t, l); got != "1.9" {
				t.Errorf("after widening, links point at %q, want from (1.9)", got)
			}
			st, _ = l.LoadState()
			if st.Rollout.State != RolloutFailed || !st.rolloutFailed("web-2.0") {
				t.Errorf("after widening: %+v", st.Rollout)
			}
			// A new rollout id is a new start.
			repo.head = "3333333333333333333333333333333333333333"
			repo.files = files(strings.Replace(rolloutFile("100", ``), `"web-2.0"`, `"web-2.0b"`, 1))
			if _, err := e.Sync(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := linkedVersion(t, l); got != "2.0" {
				t.Errorf("new rollout id: links point at %q, want 2.0", got)
			}
		})
	}
}

// TestRolloutBlockRemoved: the finished rollout (the plain file) clears
// the host's rollout state and its series.
func TestRolloutBlockRemoved(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	os.MkdirAll(l.Release(), 0o755)
	repo := &fakeRepo{head: head1, files: map[string]string{"current.conf": rolloutFile("100", ``), "bin/2.0": "#!/bin/sh\n", "bin/1.9": "#!/bin/sh\n#\n"}}
	reg := prometheus.NewRegistry()
	e := &Engine{Layout: l, Path: "current.conf", Repo: repo, Switcher: &fakeSwitcher{dir: l.Dir}, HostID: "web-017", Metrics: NewMetrics(reg, nil)}
	if _, err := e.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := series(t, reg, "reconciler_rollout_state"); len(got) != 1 {
		t.Fatalf("rollout series %v, want one", got)
	}
	repo.head = "2222222222222222222222222222222222222222"
	repo.files["current.conf"] = `{"version": "2.0", "bin": {"path": "bin/2.0"}}`
	if _, err := e.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	st, _ := l.LoadState()
	if got := series(t, reg, "reconciler_rollout_state"); st.Rollout != nil || len(got) != 0 {
		t.Errorf("after the rollout finished: %+v", st.Rollout)
	}
}

func linkedVersion(t *testing.T, l Layout) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(l.Dir, "app.bin"))
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(filepath.Base(target), "app.")
}

// series lists the label sets (name=value,...) of a metric's series with
// value 1.
func series(t *testing.T, reg *prometheus.Registry, name string) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetGauge().GetValue() != 1 {
				continue
			}
			var kv []string
			for _, lp := range m.GetLabel() {
				kv = append(kv, lp.GetName()+"="+lp.GetValue())
			}
			out = append(out, strings.Join(kv, ","))
		}
	}
	return out
}

// TestFirstReleaseFails: the first release of a directory does not come
// up, and there is none to switch back to: release/current.conf is
// removed, so the upkeep of the next passes (which skip the failed
// revision) does not start the failed release again and again.
func TestFirstReleaseFails(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	os.MkdirAll(l.Release(), 0o755)
	repo := &fakeRepo{head: head1, files: map[string]string{"current.conf": `{"version": "1.0", "bin": {"path": "bin/app"}}`, "bin/app": "#!/bin/sh\n"}}
	sw := &fakeSwitcher{dir: l.Dir, err: unhealthy{}}
	e := &Engine{Layout: l, Path: "current.conf", Repo: repo, Switcher: sw}
	if _, err := e.Sync(t.Context()); !isUnhealthy(err) {
		t.Fatalf("first sync: %v, want the release unhealthy", err)
	}
	if _, err := l.ReadLocalConf(); !os.IsNotExist(err) {
		t.Errorf("release/current.conf after the failed first release: %v, want none", err)
	}
	for range 3 {
		if _, err := e.Sync(t.Context()); !errors.Is(err, errFailedRevision) {
			t.Errorf("later sync: %v, want the failed revision skipped", err)
		}
	}
	if sw.switches != 1 {
		t.Errorf("%d switches, want 1: the failed release was started again", sw.switches)
	}
}

// TestOneScanPerPass: a pass that switches nothing asks the switcher about
// the app once (a scan of /proc each time, on a real machine most of a
// no-change poll's CPU), for its plan and for reconciler_app_up alike; a
// pass that switches asks again after the switch.
func TestOneScanPerPass(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	os.MkdirAll(l.Release(), 0o755)
	repo := &fakeRepo{head: head1, files: map[string]string{"current.conf": `{"version": "1.0", "bin": {"path": "bin/app"}}`, "bin/app": "#!/bin/sh\n"}}
	sw := &fakeSwitcher{dir: l.Dir}
	reg := prometheus.NewRegistry()
	e := &Engine{Layout: l, Path: "current.conf", Repo: repo, Switcher: sw, Metrics: NewMetrics(reg, nil)}
	if out, err := e.Sync(t.Context()); err != nil || out.Result != PollApplied {
		t.Fatalf("first sync: %v %v", out.Result, err)
	}
	if sw.scans != 2 {
		t.Errorf("a pass that switched asked %d times, want 2 (plan, then app_up after the switch)", sw.scans)
	}
	for range 3 {
		sw.scans = 0
		if out, err := e.Sync(t.Context()); err != nil || out.Result != PollUnchanged {
			t.Fatalf("no-change sync: %v %v", out.Result, err)
		}
		if sw.scans != 1 {
			t.Errorf("a no-change pass asked %d times, want 1", sw.scans)
		}
	}
	if !e.appUp() {
		t.Error("app_up: the app runs the release, want up")
	}
}

// TestLocalInSyncNewDir: in a new directory, no release/current.conf is
// no hand edit (the watcher's first look must not start a poll for
// drift); a file written by someone else is one.
func TestLocalInSyncNewDir(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	os.MkdirAll(l.Release(), 0o755)
	e := &Engine{Layout: l, Switcher: &fakeSwitcher{dir: l.Dir}}
	if !e.LocalInSync() {
		t.Error("a new directory without current.conf: not in sync, want in sync")
	}
	os.WriteFile(l.CurrentConf(), []byte("version=1\nbin_file=release/app.1\n"), 0o644)
	if e.LocalInSync() {
		t.Error("a current.conf this engine did not write: in sync, want a change")
	}
}
