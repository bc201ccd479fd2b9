package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
	"github.com/reconciler-dev/reconciler/restart/loadgen"
)

// judgeMoment is a moment of a switch's judgement at which the test stops
// or kills the agent: reached returns true once the agent is there.
type judgeMoment struct {
	name    string
	prepare func(t *testing.T, f *judgeFixture) // before the bump to 2
	reached func(f *judgeFixture) bool
}

// judgeFixture is a directory on release 1 (the example app) deployed by a
// real agent run with a bake, and release 2 committed.
type judgeFixture struct {
	d         *deployRepo
	dir, addr string
	args      []string // of `reconciler run` but --listen
	agent     *agentProc
	rev1      string
	rev2      string
}

const (
	judgeBake  = "5s" // --health-bake
	judgeCrash = "3s" // a late-dying release: after its health checks, within the bake
)

func newJudgeFixture(t *testing.T) *judgeFixture {
	t.Helper()
	f := &judgeFixture{d: newDeployRepo(t), addr: freeAddr(t), dir: t.TempDir()}
	killApps(t, f.dir)
	f.rev1 = f.d.releaseApp(t, "1", f.addr, nil)
	f.args = []string{"run", "--repo", f.d.URL(), "--path", "web/current.conf", "--dir", f.dir,
		"--schedule", "@every 1s", "--health-url", "http://" + f.addr + "/healthz",
		"--health-timeout", "10s", "--health-bake", judgeBake, "--log-format", "json"}
	f.agent = f.start(t)
	waitLong(t, "the agent to deploy 1 and judge it good", func() bool {
		st := f.state()
		return st.Applied != nil && st.Applied.Revision == f.rev1 && answers(f.addr, "1")
	})
	return f
}

// start starts a real agent on the directory.
func (f *judgeFixture) start(t *testing.T) *agentProc {
	a := startAgent(t, append(f.args[1:], "--listen", freeAddr(t))...)
	return a
}

func (f *judgeFixture) state() reconcile.State {
	l, _ := reconcile.NewLayout(f.dir)
	st, _ := l.LoadState()
	return st
}

func (f *judgeFixture) link() string {
	got, _ := os.Readlink(filepath.Join(f.dir, "app.bin"))
	return got
}

// judging2 reports whether the state holds the switch to 2, judging.
func (f *judgeFixture) judging2() bool {
	r := f.state().Switch
	return r != nil && r.Revision == f.rev2 && r.Verdict == reconcile.VerdictJudging
}

var judgeMoments = []judgeMoment{
	{
		// A handover of 1 still drains (a slow request on the old
		// process): the switch to 2 is recorded and waits for the drain
		// before any link moves.
		name: "before the links move",
		prepare: func(t *testing.T, f *judgeFixture) {
			pid := readPID(t, f.dir)
			// The app sends the headers at once: the request is in
			// flight on pid when Get returns.
			resp, err := http.Get("http://" + f.addr + "/slow?d=8s")
			if err != nil {
				t.Fatal(err)
			}
			go func() { io.Copy(io.Discard, resp.Body); resp.Body.Close() }()
			if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "a handover of 1 that drains", func() bool {
				procs, _ := restart.Finder{Dir: f.dir}.Find()
				return len(procs) == 2
			})
		},
		reached: func(f *judgeFixture) bool { return f.judging2() && f.link() == "release/app.1" },
	},
	{
		name:    "just after the links moved",
		reached: func(f *judgeFixture) bool { return f.link() == "release/app.2" },
	},
	{
		name: "mid-bake",
		reached: func(f *judgeFixture) bool {
			for _, l := range strings.Split(f.agent.logs.String(), "\n") {
				if strings.Contains(l, `"msg":"baking the release"`) && strings.Contains(l, `"bin":"release/app.2"`) {
					return true
				}
			}
			return false
		},
	},
	{
		name: "after the verdict",
		reached: func(f *judgeFixture) bool {
			r := f.state().Switch
			return r != nil && r.Revision == f.rev2 && r.Verdict != reconcile.VerdictJudging
		},
	},
}

// TestAgentJudgementSurvivesTheAgent stops (SIGTERM) or kills (SIGKILL) a
// real agent at each moment of the judgement of a switch from 1 to 2, with
// a release 2 that is good and one that comes up healthy and dies within
// the bake, then starts another agent on the directory: the good release
// ends applied, the bad one switched back to 1 and recorded failed, an
// unjudged release is never taken as applied, and after a SIGTERM links and
// process agree and no error is recorded for the stop. The app serves
// throughout: no request fails for the good release.
func TestAgentJudgementSurvivesTheAgent(t *testing.T) {
	t.Parallel()
	for _, m := range judgeMoments {
		for _, bad := range []bool{false, true} {
			for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
				kind := map[bool]string{false: "good", true: "dies late"}[bad]
				t.Run(fmt.Sprintf("%s/%s/%s", m.name, kind, sig), func(t *testing.T) {
					t.Parallel()
					testJudgementSurvives(t, m, bad, sig)
				})
			}
		}
	}
}

func testJudgementSurvives(t *testing.T, m judgeMoment, bad bool, sig syscall.Signal) {
	f := newJudgeFixture(t)
	load := loadgen.Start(t.Context(), loadgen.Options{URL: "http://" + f.addr + "/", Workers: 2})
	defer load.Stop()
	if m.prepare != nil {
		m.prepare(t, f)
	}
	var extra map[string]any
	if bad {
		extra = map[string]any{"crash_after": judgeCrash}
	}
	f.rev2 = f.d.releaseApp(t, "2", f.addr, extra)
	waitLong(t, "the moment: "+m.name, func() bool { return m.reached(f) })
	if err := f.agent.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	_ = f.agent.cmd.Wait()
	if sig == syscall.SIGTERM {
		assertStoppedCleanly(t, f, bad)
	}

	// The next agent finishes the judgement, whatever the moment.
	next := f.start(t)
	_ = next
	var adopted bool
	if bad {
		waitLong(t, "2 recorded failed and 1 back", func() bool {
			st := f.state()
			adopted = adopted || st.Applied != nil && st.Applied.Revision == f.rev2
			_, failed := st.IsFailed(f.rev2)
			return failed && answers(f.addr, "1")
		})
		assertSwitchedBack(t, f.dir, f.addr, "1", "exampleapp 1:", f.rev2)
		assertLinks(t, f.dir, "1")
	} else {
		waitLong(t, "2 applied and judged good", func() bool {
			st := f.state()
			if st.Applied != nil && st.Applied.Revision == f.rev2 && st.Switch != nil && st.Switch.Verdict == reconcile.VerdictJudging {
				adopted = true
			}
			return st.Applied != nil && st.Applied.Revision == f.rev2 && st.Switch != nil &&
				st.Switch.Verdict == reconcile.VerdictGood && answers(f.addr, "2")
		})
		assertLinks(t, f.dir, "2")
	}
	if adopted {
		t.Errorf("the state named 2 applied before its verdict (bad release: %v)", bad)
	}
	res := load.Stop()
	t.Logf("%s, %s release, %s: %s", m.name, map[bool]string{false: "good", true: "late-dying"}[bad], sig, res)
	if !bad && (res.Failed != 0 || res.OK == 0) {
		t.Errorf("load across a good release: %s (%v), want 0 failed", res, res.Errors)
	}
}

// assertStoppedCleanly checks what a SIGTERM leaves: the links and the
// process agree, and the stop is not recorded as an error.
func assertStoppedCleanly(t *testing.T, f *judgeFixture, bad bool) {
	t.Helper()
	st := f.state()
	if st.LastError != nil && strings.Contains(st.LastError.Message, "context canceled") {
		t.Errorf("a stop was recorded as the pass's error: %q", st.LastError.Message)
	}
	link := filepath.Join(f.dir, f.link())
	procs, _ := restart.Finder{Dir: f.dir}.Find()
	switch {
	case len(procs) == 0 && bad:
		// the late-dying release died already
	case len(procs) == 0:
		t.Errorf("after a SIGTERM no app runs, want one on %s", link)
	case procs[0].Exe != link:
		t.Errorf("after a SIGTERM the app runs %s while app.bin -> %s: links and process disagree", procs[0].Exe, f.link())
	}
}

// TestAppsEditMidBakeFinishesTheJudgement: under run --apps-dir, an app's
// file edited while its release bakes restarts that app's engine (a stop);
// the new engine finishes the judgement: a release that dies within the
// bake is switched back and recorded failed, not adopted.
func TestAppsEditMidBakeFinishesTheJudgement(t *testing.T) {
	t.Parallel()
	bake := "RECONCILER_HEALTH_BAKE=" + judgeBake + "\n"
	f := startApps(t, map[string]string{"web": bake})
	web := f.apps["web"]
	bad := f.release(t, "web", "2", map[string]any{"crash_after": judgeCrash})
	waitLong(t, "web to bake 2", func() bool {
		for _, l := range strings.Split(f.logs.String(), "\n") {
			if strings.Contains(l, `"msg":"baking the release"`) && strings.Contains(l, `"app":"web"`) && strings.Contains(l, `"bin":"release/app.2"`) {
				return true
			}
		}
		return false
	})
	f.writeEnv(t, "web", bake+"# edited mid-bake\n")
	l, _ := reconcile.NewLayout(web.dir)
	adopted := false
	waitLong(t, "2 recorded failed and 1 back", func() bool {
		st, _ := l.LoadState()
		adopted = adopted || st.Applied != nil && st.Applied.Revision == bad
		_, failed := st.IsFailed(bad)
		return failed && answers(web.addr, "1")
	})
	if adopted {
		t.Error("the state named 2 applied before its verdict")
	}
	assertLinks(t, web.dir, "1")
}
