package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/reconciler-dev/reconciler/restart"
)

// sigLine reads one mask (SigIgn, SigBlk) of /proc/PID/status.
func sigLine(t *testing.T, pid int, name string) uint64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + name + `:\s*([0-9a-f]+)$`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("no %s in /proc/%d/status", name, pid)
	}
	v, _ := strconv.ParseUint(string(m[1]), 16, 64)
	return v
}

// TestAgentStartsAppWithCleanSignals: an agent that inherited an ignored
// SIGHUP and SIGINT (nohup, a shell trap) and blocked SIGUSR1 and SIGPIPE
// starts the app with default dispositions and an empty mask: the app's
// /proc status shows nothing ignored or blocked, and a `hup` switch works.
// The agent itself keeps what it inherited: a SIGHUP still does not stop it.
func TestAgentStartsAppWithCleanSignals(t *testing.T) {
	t.Parallel()
	envBin, err := exec.LookPath("env")
	if err != nil || exec.Command(envBin, "--ignore-signal=HUP", "true").Run() != nil {
		t.Skip("needs GNU env with --ignore-signal and --block-signal (coreutils 8.31)")
	}
	d, addr, dir, listen := newDeployRepo(t), freeAddr(t), t.TempDir(), freeAddr(t)
	killApps(t, dir)
	// The app is started through a script that notes the masks it was
	// exec'd with (a Go app's main thread blocks signals of its own later).
	script := "#!/bin/sh\ngrep -E '^Sig(Ign|Blk):' /proc/self/status > started.sig\nexec ./app.bin -c app.cfg\n"
	if err := os.WriteFile(dir+"/start.sh", []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	d.releaseApp(t, "1", addr, nil)
	a := &agentProc{logs: &syncBuffer{}, listen: listen}
	a.cmd = exec.Command(envBin, "--ignore-signal=HUP", "--ignore-signal=INT", "--block-signal=USR1", "--block-signal=PIPE",
		os.Args[0], "run", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
		"--schedule", "@every 1s", "--listen", listen, "--health-url", "http://"+addr+"/healthz",
		"--health-timeout", "10s", "--log-format", "json", "--exec", "./start.sh")
	a.cmd.Env = append(os.Environ(), "RECONCILER_TEST_MAIN=1")
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.cmd.Process.Kill()
		a.cmd.Wait()
		if t.Failed() {
			t.Logf("agent logs:\n%s", a.logs.String())
		}
	})
	appClean := func(v string) {
		t.Helper()
		waitFor(t, "the app on "+v, func() bool { return answers(addr, v) })
		procs, err := restart.Finder{Dir: dir}.Find()
		if err != nil || len(procs) == 0 {
			t.Fatalf("no app process found: %v", err)
		}
		if got := sigLine(t, procs[0].PID, "SigIgn"); got != 0 {
			t.Errorf("release %s: the app (pid %d) ignores signals: SigIgn %016x, want 0", v, procs[0].PID, got)
		}
	}
	appClean("1")
	if ign := sigLine(t, a.cmd.Process.Pid, "SigIgn"); ign&(1<<(syscall.SIGHUP-1)) == 0 {
		t.Fatalf("the agent does not ignore SIGHUP (SigIgn %x): the test does not test anything", ign)
	}
	started, _ := os.ReadFile(dir + "/started.sig")
	if want := "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"; string(started) != want {
		t.Errorf("the app was exec'd with\n%s\nwant\n%s", started, want)
	}
	d.releaseApp(t, "2", addr, nil)
	appClean("2") // the hup switch: the app handed over on SIGHUP
	if strings.Contains(a.logs.String(), "did not come up") {
		t.Errorf("the hup switch failed")
	}
	a.cmd.Process.Signal(syscall.SIGHUP) // ignored, as inherited: release 3 still deploys
	d.releaseApp(t, "3", addr, nil)
	appClean("3")
}
