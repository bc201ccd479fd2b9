package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// alive reports whether the child has not exited (it is reaped by Wait in
// the test's cleanup, so an exited child is a zombie until then: signal 0
// alone would not tell).
func alive(cmd *exec.Cmd) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// TestAgentSIGHUPPollsNow: SIGHUP to a real `run --dir` agent polls at once
// (its schedule is an hour), logs it, and does not kill the agent; a
// second one polls again.
func TestAgentSIGHUPPollsNow(t *testing.T) {
	t.Parallel()
	f := startAgentOn1(t, "--schedule", "@every 1h")
	for _, v := range []string{"2", "3"} {
		f.d.releaseApp(t, v, f.addr, nil)
		if err := f.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the agent to deploy "+v+" after SIGHUP", func() bool { return f.answers(v)() || !alive(f.cmd) })
		if !alive(f.cmd) {
			t.Fatalf("the agent died of SIGHUP:\n%s", f.logs.String())
		}
	}
	if n := strings.Count(f.logs.String(), `"msg":"SIGHUP: polling now"`); n != 2 {
		t.Errorf("got %d log lines \"SIGHUP: polling now\", want 2", n)
	}
}

// TestWatchSIGHUPLooksAgain: SIGHUP to a real `watch` (re-check every hour)
// looks again at once: a link changed by hand, which its watch on
// release/ does not see, is put back; it logs it and keeps watching.
func TestWatchSIGHUPLooksAgain(t *testing.T) {
	t.Parallel()
	dir := handDir(t, "1", "2")
	os.WriteFile(filepath.Join(dir, "release", "current.conf"), []byte(confFor(dir, "1")), 0o644)
	var logs syncBuffer
	cmd := exec.Command(os.Args[0], "watch", "--dir", dir, "--restart", "none", "--log-format", "json", "--resync", "1h")
	cmd.Env = append(os.Environ(), "RECONCILER_TEST_MAIN=1")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	waitFor(t, "start-up to set the links", func() bool {
		return linkOf(dir, "app.bin") == "release/app.1" && strings.Contains(logs.String(), `"msg":"watching"`)
	})
	for i := range 2 {
		tmp := filepath.Join(dir, "app.bin.tmp")
		os.Symlink("release/app.2", tmp)
		if err := os.Rename(tmp, filepath.Join(dir, "app.bin")); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "SIGHUP to put app.bin back", func() bool { return linkOf(dir, "app.bin") == "release/app.1" || !alive(cmd) })
		if !alive(cmd) {
			t.Fatalf("SIGHUP %d killed watch:\n%s", i+1, logs.String())
		}
	}
	if n := strings.Count(logs.String(), `"msg":"SIGHUP: looking again"`); n != 2 {
		t.Errorf("got %d log lines \"SIGHUP: looking again\", want 2:\n%s", n, logs.String())
	}
}
