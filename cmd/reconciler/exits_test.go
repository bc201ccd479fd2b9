package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
)

// logLines returns the agent's JSON log lines whose msg is msg.
func (a *agentProc) logLines(msg string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(a.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// servingPID is the pid of the app process that serves in dir, 0 when none.
func servingPID(dir string) int {
	procs, _ := restart.Finder{Dir: dir}.Find()
	if len(procs) == 0 {
		return 0
	}
	return procs[0].PID
}

// TestAgentAppKilledIsNoDrift: kill -9 of a healthy app is `app exited`
// (signal 9) in the log, counted, notified app_exited once for the streak,
// never drift; the agent starts it again at once (the schedule is an hour:
// no poll does it), and after a second kill with a backoff of 1 s. Two
// exits within 10 minutes make `status` exit 1 and list them.
func TestAgentAppKilledIsNoDrift(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	f := startAgentOn1(t, "--notify-url", rcv.URL, "--schedule", "@every 1h")
	waitFor(t, "applied 1 to be delivered", func() bool { return kinds(events(t, rcv)) == "applied" })
	if _, out, code := runCLI(t, "status", "--dir", f.dir); code != 0 {
		t.Fatalf("status before any exit: exit %d\n%s", code, out)
	}
	for i := 1; i <= 2; i++ {
		pid := servingPID(f.dir)
		killed := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the app to be started again", func() bool { return len(f.logLines("app started again after its exit")) == i })
		if p := servingPID(f.dir); p == 0 || p == pid || !f.answers("1")() {
			t.Fatalf("after restart %d: pid %d serves (killed: %d), want another one answering 1", i, p, pid)
		}
		waitFor(t, "the exit to be counted", func() bool { return f.metric(t, "reconciler_app_exits_total") == float64(i) })
		lines := f.logLines("app exited")
		if len(lines) != i {
			t.Fatalf("after kill %d: %d `app exited` lines, want %d", i, len(lines), i)
		}
		if got := lines[i-1]; got["status"] != "signal 9 (killed)" || got["pid"] != float64(pid) {
			t.Errorf("app exited line: got pid %v status %v, want pid %d, signal 9 (killed)", got["pid"], got["status"], pid)
		}
		if at, err := time.Parse(time.RFC3339Nano, lines[i-1]["time"].(string)); err == nil {
			t.Logf("kill %d: `app exited` logged %s after the kill", i, at.Sub(killed).Round(time.Millisecond)) // a figure, not asserted
		}
	}
	if n := len(f.logLines("starting the app again after a backoff")); n != 1 {
		t.Errorf("restarts after a backoff: got %d, want 1 (the second exit of the streak waits 1 s)", n)
	}
	if got := f.metric(t, "reconciler_drift_corrected_total"); got != 0 {
		t.Errorf("reconciler_drift_corrected_total: got %v, want 0 (an exit is no drift)", got)
	}
	if strings.Contains(f.logs.String(), `"msg":"drift`) {
		t.Errorf("an app exit was logged as drift:\n%s", f.logs.String())
	}
	waitFor(t, "app_exited to be delivered", func() bool { return strings.Contains(kinds(events(t, rcv)), "app_exited") })
	if k := kinds(events(t, rcv)); k != "applied,app_exited" {
		t.Errorf("events: got %s, want applied,app_exited (once per streak, no drift, no applied for a restart)", k)
	}
	if ev := events(t, rcv)[1]; ev.ToVersion != "1" || !strings.Contains(ev.Error, "signal 9") {
		t.Errorf("app_exited: got version %q error %q, want 1 and the signal", ev.ToVersion, ev.Error)
	}
	out, _, code := runCLI(t, "status", "--dir", f.dir)
	if code != 1 || strings.Count(out, "exited:") != 2 || !strings.Contains(out, "signal 9 (killed)") {
		t.Errorf("status after two exits in 10 minutes: exit %d, want 1 and both exits listed:\n%s", code, out)
	}
	if st := f.status(t); len(st.Exits) != 2 {
		t.Errorf("GET /status: %d exits, want 2", len(st.Exits))
	}
}

// TestAgentCrashLoopSwitchesBack: without a bake, a release that comes up
// healthy and dies 3 s after each start is started again (at once, then
// after 1 s), and at its third exit within 10 minutes of its switch it is
// switched back to the previous release and its revision recorded failed:
// rolled_back is told with the exits quoted, the on-rollback hook runs, and
// `status` exits 1 while the branch points at it.
func TestAgentCrashLoopSwitchesBack(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	hookOut := filepath.Join(t.TempDir(), "rolled-back")
	hook := filepath.Join(t.TempDir(), "on-rollback.sh")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho \"$RECONCILER_TO_VERSION\" >> "+hookOut+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := startAgentOn1(t, "--notify-url", rcv.URL, "--on-rollback", hook)
	bad := f.d.releaseApp(t, "2", f.addr, map[string]any{"crash_after": "3s"})
	waitFor(t, "release 2 to serve", f.answers("2"))
	waitLong(t, "release 2 to be switched back", func() bool { return f.answers("1")() && f.status(t).HeadFailed != nil })
	if got := f.metric(t, "reconciler_app_exits_total"); got != 3 {
		t.Errorf("exits before the switch back: got %v, want 3", got)
	}
	assertSwitchedBack(t, f.dir, f.addr, "1", "exampleapp 1:", bad)
	waitFor(t, "rolled_back to be delivered", func() bool { return strings.Contains(kinds(events(t, rcv)), "rolled_back") })
	var rb string
	for _, ev := range events(t, rcv) {
		if ev.Event == "rolled_back" {
			rb = ev.Error
		}
	}
	// The first exit is of the process the SIGHUP handover made, a child
	// of the old one: the agent, a child subreaper, adopted it.
	if !strings.Contains(rb, "crash loop") || strings.Count(rb, " pid ") != 3 || strings.Count(rb, "exit code 1") != 3 {
		t.Errorf("rolled_back: got %q, want the crash loop with its three exits quoted, each exit code 1", rb)
	}
	waitFor(t, "no zombie child of the agent", func() bool { return len(zombieChildren(f.cmd.Process.Pid)) == 0 })
	if k := kinds(events(t, rcv)); k != "applied,applied,app_exited,rolled_back" {
		t.Errorf("events: got %s, want applied,applied,app_exited,rolled_back", k)
	}
	waitFor(t, "the on-rollback hook to run", func() bool { b, _ := os.ReadFile(hookOut); return string(b) == "1\n" })
	if out, _, code := runCLI(t, "status", "--dir", f.dir); code != 1 || !strings.Contains(out, "crash loop") {
		t.Errorf("status while the branch points at a failed revision: exit %d, want 1 and the crash loop:\n%s", code, out)
	}
	if got := f.metric(t, "reconciler_rollbacks_total"); got != 1 {
		t.Errorf("reconciler_rollbacks_total: got %v, want 1", got)
	}
}

// TestAgentCrashLoopOff: with --crash-loop 0 and no bake, the agent warns
// at start that nothing guards a switch, and a dying release is started
// again and again, never switched back nor failed.
func TestAgentCrashLoopOff(t *testing.T) {
	t.Parallel()
	f := startAgentOn1(t, "--crash-loop", "0")
	if len(f.logLines("neither --health-bake nor --crash-loop guards a switch: a release that comes up and dies later is started again and again, never switched back")) != 1 {
		t.Errorf("no start-up warning about an unguarded switch:\n%s", f.logs.String())
	}
	// 3 s, not less: at load 60 on 2 cores a handover took over a second
	// to be seen, and a release dead by then did not come up at all.
	f.d.releaseApp(t, "2", f.addr, map[string]any{"crash_after": "3s"})
	// A fourth exit: the app was started again after the third, which
	// the default rule would have failed.
	waitLong(t, "a fourth exit of release 2", func() bool { return f.metric(t, "reconciler_app_exits_total") >= 4 })
	st := f.status(t)
	if len(st.Failed) != 0 || st.Version != "2" {
		t.Errorf("with --crash-loop 0: got version %s, failed %+v; want 2 kept, nothing failed", st.Version, st.Failed)
	}
}

// TestAgentWatchesAStranger: an app the agent did not start (a supervisor
// of its own: --exec ”) is found through /proc and watched; its exit is
// logged (status unknown) and counted, and the agent never starts it.
func TestAgentWatchesAStranger(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	addr, dir := freeAddr(t), t.TempDir()
	killApps(t, dir)
	d.releaseApp(t, "1", addr, nil)
	if _, errOut, code := runCLI(t, "sync", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
		"--restart", "none", "--log-format", "json"); code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, errOut)
	}
	sh := exec.Command("sh", "-c", "./app.bin -c app.cfg >>app.log 2>&1 &")
	sh.Dir = dir
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("start the app outside the agent: %v %s", err, out)
	}
	waitFor(t, "the stranger to serve", func() bool { return answers(addr, "1") })
	listen := freeAddr(t)
	a := startAgent(t, "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir, "--exec", "",
		"--schedule", "@every 1s", "--listen", listen, "--log-format", "json")
	a.listen = listen
	waitFor(t, "a poll", func() bool {
		return strings.Contains(a.logs.String(), `"msg":"poll"`) || a.tryMetric(`reconciler_polls_total{result="unchanged"}`) >= 1
	})
	pid := servingPID(dir)
	waitFor(t, "the agent to watch the app", func() bool { return testkit.HoldsPidfd(a.cmd.Process.Pid, pid) })
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the exit to be counted", func() bool { return a.metric(t, "reconciler_app_exits_total") == 1 })
	lines := a.logLines("app exited")
	if len(lines) != 1 || lines[0]["pid"] != float64(pid) || !strings.HasPrefix(lines[0]["status"].(string), "unknown") {
		t.Fatalf("app exited lines: got %v, want one for pid %d, status unknown", lines, pid)
	}
	polls := a.metric(t, `reconciler_polls_total{result="unchanged"}`) + a.metric(t, `reconciler_polls_total{result="applied"}`)
	waitFor(t, "two more polls", func() bool {
		return a.metric(t, `reconciler_polls_total{result="unchanged"}`)+a.metric(t, `reconciler_polls_total{result="applied"}`) >= polls+2
	})
	if p := servingPID(dir); p != 0 {
		t.Errorf("the agent started an app with a supervisor of its own (--exec ''): pid %d", p)
	}
	var st reconcile.Status
	_ = json.Unmarshal([]byte(a.get(t, "/status")), &st)
	if len(st.Exits) != 1 {
		t.Errorf("GET /status exits: got %d, want 1", len(st.Exits))
	}
}

// tryMetric is metric for an agent that may not listen yet: -1 then.
func (a *agentProc) tryMetric(sample string) float64 {
	resp, err := http.Get("http://" + a.listen + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindStringSubmatch(string(b))
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestCrashLoopCountsAcrossAgents: exits are kept in the state file, so an
// agent killed (SIGKILL) after two exits of a crash-looping release leaves
// them to the next agent, whose first exit of it is the third: switched
// back and failed.
func TestCrashLoopCountsAcrossAgents(t *testing.T) {
	t.Parallel()
	f := startAgentOn1(t)
	bad := f.d.releaseApp(t, "2", f.addr, map[string]any{"crash_after": "3s"})
	waitLong(t, "two exits of release 2", func() bool { return f.metric(t, "reconciler_app_exits_total") == 2 })
	if err := f.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	f.cmd.Wait()
	listen := freeAddr(t)
	b := startAgent(t, "--repo", f.d.URL(), "--path", "web/current.conf", "--dir", f.dir, "--schedule", "@every 1s",
		"--listen", listen, "--health-url", "http://"+f.addr+"/healthz", "--health-timeout", "10s", "--log-format", "json")
	b.listen = listen
	waitLong(t, "the second agent to switch release 2 back", func() bool {
		return answers(f.addr, "1") && b.tryMetric("reconciler_rollbacks_total") == 1
	})
	if got := b.metric(t, "reconciler_app_exits_total"); got != 1 {
		t.Errorf("exits seen by the second agent: got %v, want 1 (the third of the loop)", got)
	}
	assertSwitchedBack(t, f.dir, f.addr, "1", "exampleapp 1:", bad)
}

// zombieChildren lists the children of pid that are zombies: what an agent
// that adopts orphans (a child subreaper) must reap.
func zombieChildren(pid int) []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(data)) {
			stat, err := os.ReadFile("/proc/" + s + "/stat")
			if i := strings.LastIndexByte(string(stat), ')'); err == nil && i > 0 && strings.HasPrefix(string(stat[i+1:]), " Z") {
				n, _ := strconv.Atoi(s)
				out = append(out, n)
			}
		}
	}
	return out
}

// waitLong is waitFor for what takes several starts of an app: seconds
// each on a busy machine (load 60 on 2 cores seen), so 90 s.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out (90 s) waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
