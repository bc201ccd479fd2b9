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

// TestAgentStartsAppWithCleanSignals: a reconciler that inherited an
// ignored SIGHUP and SIGINT (nohup, a shell trap) and blocked SIGUSR1 and
// SIGPIPE starts the app with default dispositions and an empty mask: the
// app's /proc status shows nothing ignored or blocked. The first release
// is started by a one-shot `sync`, which keeps the ignored SIGHUP it
// inherited (`run` and `watch` catch SIGHUP to poll or look again, so the
// app of an agent could not inherit it anyway); then an agent under the
// same inheritance switches by SIGHUP, and a SIGHUP to the agent is a
// request to poll, never its end.
func TestAgentStartsAppWithCleanSignals(t *testing.T) {
	t.Parallel()
	envBin, err := exec.LookPath("env")
	if err != nil || exec.Command(envBin, "--ignore-signal=HUP", "true").Run() != nil {
		t.Skip("needs GNU env with --ignore-signal and --block-signal (coreutils 8.31)")
	}
	inherit := []string{"--ignore-signal=HUP", "--ignore-signal=INT", "--block-signal=USR1", "--block-signal=PIPE"}
	// The test tests something only if env hands the ignored signals on.
	out, err := exec.Command(envBin, append(inherit, "grep", "^SigIgn:", "/proc/self/status")...).Output()
	if ign, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(string(out), "SigIgn:")), 16, 64); err != nil || ign&(1<<(syscall.SIGHUP-1)) == 0 {
		t.Fatalf("env %v does not hand an ignored SIGHUP on (%q, %v): the test would test nothing", inherit, out, err)
	}
	d, addr, dir, listen := newDeployRepo(t), freeAddr(t), t.TempDir(), freeAddr(t)
	killApps(t, dir)
	// The app is started through a script that notes the masks it was
	// exec'd with (a Go app's main thread blocks signals of its own later).
	script := "#!/bin/sh\ngrep -E '^Sig(Ign|Blk):' /proc/self/status > started.sig\nexec ./app.bin -c app.cfg\n"
	if err := os.WriteFile(dir+"/start.sh", []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
		"--health-url", "http://" + addr + "/healthz", "--health-timeout", "10s", "--log-format", "json", "--exec", "./start.sh"}
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
	d.releaseApp(t, "1", addr, nil)
	sync := exec.Command(envBin, append(append(inherit, os.Args[0], "sync"), flags...)...)
	sync.Env = append(os.Environ(), "RECONCILER_TEST_MAIN=1")
	if b, err := sync.CombinedOutput(); err != nil {
		t.Fatalf("sync: %v\n%s", err, b)
	}
	appClean("1")
	started, _ := os.ReadFile(dir + "/started.sig")
	if want := "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"; string(started) != want {
		t.Errorf("the app was exec'd with\n%s\nwant\n%s", started, want)
	}
	a := startAgentCmd(t, exec.Command(envBin, append(append(inherit, os.Args[0], "run", "--schedule", "@every 1s", "--listen", listen), flags...)...))
	a.listen = listen
	d.releaseApp(t, "2", addr, nil)
	appClean("2") // the hup switch: the app handed over on SIGHUP
	if strings.Contains(a.logs.String(), "did not come up") {
		t.Errorf("the hup switch failed")
	}
	a.cmd.Process.Signal(syscall.SIGHUP) // a request to poll: release 3 still deploys
	d.releaseApp(t, "3", addr, nil)
	appClean("3")
}
