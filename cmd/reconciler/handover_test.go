package main

import (
	"fmt"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// agentArgs are the settings of a test agent on f's directory, which a
// sync by hand repeats (as an environment file shared by both would).
func (f *agentFixture) syncArgs(extra ...string) []string {
	return append([]string{"sync", "--repo", f.d.URL(), "--path", "web/current.conf", "--dir", f.dir,
		"--health-url", "http://" + f.addr + "/healthz", "--health-timeout", "10s", "--log-format", "json"}, extra...)
}

// TestSyncHandsOverToAgent: with a real agent holding the lock (and
// polling once an hour), sync deploys through it and exits 0 once the app
// runs the new version; a pass that fails exits 1 as a sync of its own
// does, with the agent's error; --no-wait hands over and exits at once.
// The agent answers each and runs on.
func TestSyncHandsOverToAgent(t *testing.T) {
	t.Parallel()
	f := startAgentOn1(t, "--schedule", "@every 1h")

	f.d.releaseApp(t, "2", f.addr, nil)
	out, errOut, code := runCLI(t, f.syncArgs()...)
	if code != 0 || !strings.Contains(out, "version 2 at ") || !strings.Contains(out, "(applied by the running agent, pid ") {
		t.Fatalf("sync through the agent: exit %d\n%s%s\nwant 0 and the agent's pass", code, out, errOut)
	}
	if !f.answers("2")() {
		t.Errorf("sync returned with the app answering %q, want version 2", testkit.Answer(f.addr))
	}
	if !strings.Contains(f.logs.String(), "request from `reconciler sync`") {
		t.Errorf("the agent did not log the request:\n%s", f.logs.String())
	}
	start := time.Now()
	out, errOut, code = runCLI(t, f.syncArgs()...)
	if code != 0 || !strings.Contains(out, "(unchanged by the running agent, pid ") {
		t.Errorf("sync through the agent with nothing to do: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("a sync with nothing to do, through the agent: %v from the command's start to its answer", time.Since(start).Round(time.Millisecond))

	url, sum := f.d.art.put("/web-x", binary("x"))
	f.d.commitDesired(fmt.Sprintf(`{"version": "invalid argument", "bin": {"url": %q, "sha256": %q}}`, url, sum))
	out, errOut, code = runCLI(t, f.syncArgs()...)
	if code != 1 || !strings.Contains(errOut, `"invalid argument"`) || !strings.Contains(errOut, "the running agent's pass") {
		t.Errorf("sync through the agent of a bad desired file: exit %d\n%s%s\nwant 1 and the agent's error", code, out, errOut)
	}

	f.d.releaseApp(t, "3", f.addr, nil)
	out, errOut, code = runCLI(t, f.syncArgs("--no-wait")...)
	if code != 0 || !strings.Contains(out, "handed to the running agent") {
		t.Fatalf("sync --no-wait: exit %d\n%s%s", code, out, errOut)
	}
	waitFor(t, "the agent to deploy 3", f.answers("3"))
	waitFor(t, "no request nor answer left", func() bool {
		m, _ := filepath.Glob(filepath.Join(f.dir, ".reconciler", "requests", "*.*"))
		return len(m) == 1 // the answer nobody waits for
	})
	if f.cmd.ProcessState != nil || !alive(f.cmd) {
		t.Fatalf("the agent stopped")
	}
}

// TestSyncIgnoreWindowsThroughAgent: inside a deny window, sync through
// the agent exits 1 (deferred) and sync --ignore-windows deploys; the next
// pass honours the window again.
func TestSyncIgnoreWindowsThroughAgent(t *testing.T) {
	t.Parallel()
	deny, _ := denyNow(time.Hour)
	f := &agentFixture{d: newDeployRepo(t), addr: freeAddr(t), dir: t.TempDir()}
	killApps(t, f.dir)
	f.d.releaseApp(t, "1", f.addr, nil)
	if out, errOut, code := runCLI(t, f.syncArgs()...); code != 0 {
		t.Fatalf("first sync: exit %d\n%s%s", code, out, errOut)
	}
	listen := freeAddr(t)
	f.agentProc = startAgent(t, "--repo", f.d.URL(), "--path", "web/current.conf", "--dir", f.dir, "--schedule", "@every 1h",
		"--listen", listen, "--health-url", "http://"+f.addr+"/healthz", "--health-timeout", "10s", "--log-format", "json",
		"--deny-window", deny)
	waitFor(t, "the agent to take requests", func() bool { _, _, ok := runningAgent(f.dir); return ok })

	f.d.releaseApp(t, "2", f.addr, nil)
	out, errOut, code := runCLI(t, f.syncArgs()...)
	if code != 1 || !strings.Contains(errOut, "--ignore-windows") {
		t.Errorf("sync through the agent inside a deny window: exit %d\n%s%s\nwant 1 and the way to deploy anyway", code, out, errOut)
	}
	out, errOut, code = runCLI(t, f.syncArgs("--ignore-windows")...)
	if code != 0 || !f.answers("2")() {
		t.Fatalf("sync --ignore-windows through the agent: exit %d, app %q\n%s%s\nwant 0 and version 2", code, testkit.Answer(f.addr), out, errOut)
	}
	f.d.releaseApp(t, "3", f.addr, nil)
	if _, errOut, code := runCLI(t, f.syncArgs()...); code != 1 || !f.answers("2")() {
		t.Errorf("sync after the emergency: exit %d %s, app %q; want 1 and 2 still: --ignore-windows is for one pass", code, errOut, testkit.Answer(f.addr))
	}
}

// TestResumeAndRetryThroughAgent: resume polls at once through the agent
// and prints its pass; a second resume says the directory was not
// suspended; retry of a failed revision tries it at once.
func TestResumeAndRetryThroughAgent(t *testing.T) {
	t.Parallel()
	f := startAgentOn1(t, "--schedule", "@every 1h", "--restart", "restart")
	if _, errOut, code := runCLI(t, "suspend", "--dir", f.dir, "--reason", "incident 9"); code != 0 {
		t.Fatalf("suspend: %s", errOut)
	}
	f.d.releaseApp(t, "2", f.addr, nil)
	out, errOut, code := runCLI(t, "resume", "--dir", f.dir)
	if code != 0 || !strings.Contains(out, "resumed (suspended since ") || !strings.Contains(out, "version 2 at ") || !f.answers("2")() {
		t.Fatalf("resume through the agent: exit %d, app %q\n%s%s\nwant 0, the pass and version 2", code, testkit.Answer(f.addr), out, errOut)
	}
	out, errOut, code = runCLI(t, "resume", "--dir", f.dir)
	if code != 0 || !strings.Contains(out, "was not suspended") || !strings.Contains(out, "(unchanged by the running agent") {
		t.Errorf("resume again: exit %d\n%s%s\nwant 0, \"was not suspended\" and an unchanged pass", code, out, errOut)
	}

	// A release that fails to start (here: for good) is recorded failed;
	// retry tries it at once, and fails as sync would.
	f.d.releaseApp(t, "3", f.addr, map[string]any{"fail_start": true})
	if _, _, code := runCLI(t, f.syncArgs()...); code != 1 {
		t.Fatalf("sync of a failing release through the agent: exit %d, want 1", code)
	}
	out, errOut, code = runCLI(t, "retry", "--dir", f.dir)
	if code != 1 || !strings.Contains(out, "will be tried again now") || !strings.Contains(errOut, "fail_start") {
		t.Errorf("retry through the agent: exit %d\n%s%s\nwant 1 and the pass's error", code, out, errOut)
	}
	if n := strings.Count(f.logs.String(), "retrying a failed revision"); n != 1 {
		t.Errorf("the agent retried %d times, want 1", n)
	}
}

// TestHandOverWithoutAgent: with no agent, or with an agent's stale
// record and a free lock, sync, resume and retry do as they did.
func TestHandOverWithoutAgent(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	d.release("1.0")
	dir := t.TempDir()
	mustSync(t, d.URL(), dir)
	// A record left by an agent that died (pid 1 holds no lock here).
	os.MkdirAll(filepath.Join(dir, ".reconciler", "requests"), 0o700)
	os.WriteFile(filepath.Join(dir, ".reconciler", "requests", "agent"), []byte("1\n"), 0o600)
	d.release("2.0")
	if out, errOut, code := runCLI(t, syncArgs(d.URL(), dir)...); code != 0 || !strings.Contains(out, "version 2.0") || strings.Contains(out, "agent") {
		t.Errorf("sync without an agent: exit %d\n%s%s", code, out, errOut)
	}
	if out, _, code := runCLI(t, "resume", "--dir", dir); code != 0 || strings.TrimSpace(out) != dir+": was not suspended" {
		t.Errorf("resume without an agent: exit %d %q", code, out)
	}
}

// TestSyncWhenTheAgentStops: an agent stopped or killed before it answers
// (waiting, SIGSTOPped, with the request not taken; or in the middle of
// the pass that took it, a download) leaves the sync to the command, which
// does it itself and exits 0; no request is left behind.
func TestSyncWhenTheAgentStops(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		during bool // stop it during the pass, else before it takes the request
		sig    syscall.Signal
	}{
		{"SIGKILL before the pass", false, syscall.SIGKILL},
		{"SIGKILL during the pass", true, syscall.SIGKILL},
		{"SIGTERM during the pass", true, syscall.SIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := startAgentOn1(t, "--schedule", "@every 1h")
			f.d.art.setFault("/app-2", "stall")
			f.d.releaseApp(t, "2", f.addr, nil)
			if !tc.during {
				f.cmd.Process.Signal(syscall.SIGSTOP)
			}
			type result struct {
				out, errOut string
				code        int
			}
			done := make(chan result, 1)
			go func() {
				out, errOut, code := runCLI(t, f.syncArgs()...)
				done <- result{out, errOut, code}
			}()
			requests := filepath.Join(f.dir, ".reconciler", "requests")
			if tc.during {
				waitFor(t, "the agent's pass to download 2", func() bool { return f.d.art.hitCount("/app-2") > 0 })
			} else {
				waitFor(t, "the request", func() bool { m, _ := filepath.Glob(filepath.Join(requests, "*.request")); return len(m) == 1 })
			}
			f.d.art.setFault("/app-2", "")
			f.cmd.Process.Signal(tc.sig)
			var r result
			select {
			case r = <-done:
			case <-time.After(time.Minute):
				t.Fatal("sync did not return after the agent stopped")
			}
			if r.code != 0 || strings.Contains(r.out, "by the running agent") || !f.answers("2")() {
				t.Errorf("sync: exit %d, app %q\n%s%s\nwant 0, its own pass and version 2", r.code, testkit.Answer(f.addr), r.out, r.errOut)
			}
			if m, _ := filepath.Glob(filepath.Join(requests, "*.*")); len(m) != 0 {
				t.Errorf("left behind: %v", m)
			}
		})
	}
}

// TestSyncFollowsARestartedAgent: an agent killed in the middle of the
// pass that took the request, and started again (as systemd would) before
// the waiting sync looks, is handed the request anew: sync exits 0 with
// the new agent's pass. The sync is a real child process, stopped while
// the agents change.
func TestSyncFollowsARestartedAgent(t *testing.T) {
	t.Parallel()
	f := startAgentOn1(t, "--schedule", "@every 1h")
	f.d.art.setFault("/app-2", "stall")
	f.d.releaseApp(t, "2", f.addr, nil)
	var out syncBuffer
	sync := exec.Command(os.Args[0], f.syncArgs()...)
	sync.Env = append(os.Environ(), "RECONCILER_TEST_MAIN=1")
	sync.Stdout, sync.Stderr = &out, &out
	if err := sync.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sync.Process.Kill(); sync.Wait() })
	waitFor(t, "the first agent's pass to download 2", func() bool { return f.d.art.hitCount("/app-2") > 0 })
	sync.Process.Signal(syscall.SIGSTOP)
	f.d.art.setFault("/app-2", "")
	f.cmd.Process.Kill()
	f.cmd.Wait()
	first := f.agentProc
	second := startAgent(t, first.cmd.Args[2:]...)
	waitFor(t, "the second agent to take requests", func() bool {
		_, pid, ok := runningAgent(f.dir)
		return ok && pid == second.cmd.Process.Pid
	})
	sync.Process.Signal(syscall.SIGCONT)
	errc := make(chan error, 1)
	go func() { errc <- sync.Wait() }()
	select {
	case err := <-errc:
		// The second agent's first pass deploys 2 on its own; the request
		// handed anew finds it done (or is that pass).
		if err != nil || !strings.Contains(out.String(), "version 2 at ") ||
			!strings.Contains(out.String(), " by the running agent, pid "+strconv.Itoa(second.cmd.Process.Pid)+")") {
			t.Errorf("sync: %v\n%s\nwant exit 0 and the second agent's pass", err, out.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("sync did not return:\n%s", out.String())
	}
	if !f.answers("2")() {
		t.Errorf("the app answers %q, want version 2", testkit.Answer(f.addr))
	}
}
