package main

import (
	"bytes"
	"debug/elf"
	bin "encoding/binary"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/internal/agentdir"
	"github.com/reconciler-dev/reconciler/internal/procfs"
)

var agentBuilds = map[string]string{} // version -> path, under appBuildTo; guarded by appBuildMu

// agentBuild returns reconciler built from this tree with -X main.version=v
// (once per test binary run, removed by removeAppBuilds).
func agentBuild(t *testing.T, v string) string {
	t.Helper()
	appBuildMu.Lock()
	defer appBuildMu.Unlock()
	if p, ok := agentBuilds[v]; ok {
		return p
	}
	if appBuildTo == "" {
		dir, err := os.MkdirTemp("", "reconciler-app-")
		if err != nil {
			t.Fatal(err)
		}
		appBuildTo = dir
	}
	out := filepath.Join(appBuildTo, "reconciler-"+v)
	cmd := exec.Command("go", "build", "-o", out, "-ldflags", "-X main.version="+v, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build reconciler %s: %v\n%s", v, err, b)
	}
	agentBuilds[v] = out
	return out
}

// agentDirWith opens an agent dir under t.TempDir and installs and
// confirms each version, in order, from the bytes of files[v].
func agentDirWith(t *testing.T, files map[string][]byte, versions ...string) *agentdir.Dir {
	t.Helper()
	d, err := agentdir.Open(filepath.Join(t.TempDir(), "agent"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		b := files[v]
		if _, err := d.Install(t.Context(), v, bytes.NewReader(b), sha(b)); err != nil {
			t.Fatal(err)
		}
		if err := d.Confirm(v); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// packageAgent starts this test binary as the package's
// /usr/bin/reconciler: `reconciler run` of an app dir, with the agent
// settings of env (RECONCILER_AGENT_PATH, RECONCILER_AGENT_DIR: the flags
// are the runtime's, and an exec'd build of this tree would refuse them).
func packageAgent(t *testing.T, env ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "run", "--dir", filepath.Join(t.TempDir(), "app"),
		"--repo", "file:///nonexistent", "--schedule", "@every 1h")
	cmd.Env = append(append(os.Environ(), "RECONCILER_TEST_MAIN=1"), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, out
}

func procExe(pid int) string {
	exe, _ := procfs.Exe(pid)
	return exe
}

// waitRunning waits until the process runs exe (same PID) and its agent
// started, then stops it.
func waitRunning(t *testing.T, cmd *exec.Cmd, out *syncBuffer, exe string) {
	t.Helper()
	waitFor(t, "pid "+strconv.Itoa(cmd.Process.Pid)+" to run "+exe+" as an agent", func() bool {
		return procExe(cmd.Process.Pid) == exe && strings.Contains(out.String(), `"agent starting"`)
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
}

// passedOver is the start's log line saying version was passed over, "" if none.
func passedOver(out, version string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"msg":"agent version passed over"`) && strings.Contains(line, `"version":"`+version+`"`) {
			return line
		}
	}
	return ""
}

func agentEnv(d *agentdir.Dir) []string {
	return []string{"RECONCILER_AGENT_PATH=agent.json", "RECONCILER_AGENT_DIR=" + d.Path()}
}

// TestStartRunsNewestConfirmed: the package's binary started with
// --agent-path execs the newest confirmed version of the agent dir, in
// the same process, with its args and environment, once.
func TestStartRunsNewestConfirmed(t *testing.T) {
	files := map[string][]byte{"1": readFile(t, agentBuild(t, "1")), "2": readFile(t, agentBuild(t, "2"))}
	d := agentDirWith(t, files, "1", "2")
	v2, _ := d.VersionPath("2")
	if out, err := exec.Command(v2, "version").Output(); err != nil || !strings.HasPrefix(string(out), "reconciler 2 ") {
		t.Fatalf("%s version: got %q, %v", v2, out, err)
	}
	cmd, out := packageAgent(t, agentEnv(d)...)
	// Read once the agent runs: during the exec, /proc/PID/exe names the
	// new binary before its arguments and environment are in place.
	waitFor(t, "the exec'd agent to start", func() bool {
		return procExe(cmd.Process.Pid) == v2 && strings.Contains(out.String(), `"agent starting"`)
	})
	environ := readFile(t, "/proc/"+strconv.Itoa(cmd.Process.Pid)+"/environ")
	if !bytes.Contains(environ, []byte("\x00"+agentdir.ChosenEnv+"=2\x00")) || !bytes.Contains(environ, []byte("RECONCILER_AGENT_DIR="+d.Path())) {
		t.Errorf("environment of the exec'd agent: %q", environ)
	}
	cmdline := readFile(t, "/proc/"+strconv.Itoa(cmd.Process.Pid)+"/cmdline")
	if want := strings.Join(cmd.Args, "\x00") + "\x00"; string(cmdline) != want {
		t.Errorf("args: got %q, want %q", cmdline, want)
	}
	waitRunning(t, cmd, out, v2)
	if n := strings.Count(out.String(), `"msg":"starting the agent's confirmed version"`); n != 1 {
		t.Errorf("exec'd %d times, want once:\n%s", n, out)
	}
	if r, _ := d.Record(); r.Starts != (agentdir.Starts{Version: "2", Count: 1}) {
		t.Errorf("starts: got %+v, want version 2 once", r.Starts)
	}
}

// TestStartRunsItself: without --agent-path, with nothing confirmed, or
// already chosen (the marker), the package's binary runs itself.
func TestStartRunsItself(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"1": readFile(t, agentBuild(t, "1"))}
	for _, tc := range []struct {
		what string
		env  func(d *agentdir.Dir) []string
		conf []string
	}{
		{"no --agent-path", func(d *agentdir.Dir) []string { return []string{"RECONCILER_AGENT_DIR=" + d.Path()} }, []string{"1"}},
		{"nothing confirmed", agentEnv, nil},
		{"already chosen", func(d *agentdir.Dir) []string { return append(agentEnv(d), agentdir.ChosenEnv+"=1") }, []string{"1"}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			d := agentDirWith(t, files, tc.conf...)
			cmd, out := packageAgent(t, tc.env(d)...)
			waitRunning(t, cmd, out, self)
			if r, _ := d.Record(); r.Starts.Count != 0 {
				t.Errorf("a start was counted: %+v", r.Starts)
			}
		})
	}
}

// otherArch is b with its ELF machine set to another architecture's.
func otherArch(b []byte) []byte {
	b = bytes.Clone(b)
	m := elf.EM_AARCH64
	if runtime.GOARCH == "arm64" {
		m = elf.EM_X86_64
	}
	bin.LittleEndian.PutUint16(b[18:], uint16(m)) // e_machine
	return b
}

// TestStartSkipsBrokenVersion: a newest confirmed version whose binary is
// missing, changed, not executable or built for another architecture is
// passed over with a log line for the previous confirmed one, or for the
// package's binary when there is none: never a crash.
func TestStartSkipsBrokenVersion(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	one := readFile(t, agentBuild(t, "1"))
	for _, tc := range []struct {
		what   string
		two    []byte                  // version 2's bytes when installed
		break_ func(path string) error // then done to its file
		words  string
	}{
		{"missing", one, func(p string) error { return os.RemoveAll(filepath.Dir(p)) }, "is missing"},
		{"changed", one, func(p string) error { return os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755) }, artifacts.ErrDigestMismatch.Error()},
		{"not executable", one, func(p string) error { return os.Chmod(p, 0o644) }, "no exec bit"},
		{"another architecture", otherArch(one), func(string) error { return nil }, "built for"},
	} {
		for _, only := range []bool{false, true} {
			name := tc.what
			if only {
				name += ", nothing before"
			}
			t.Run(name, func(t *testing.T) {
				files := map[string][]byte{"1": one, "2": tc.two}
				versions := []string{"1", "2"}
				if only {
					versions = versions[1:]
				}
				d := agentDirWith(t, files, versions...)
				p2, _ := d.VersionPath("2")
				if err := tc.break_(p2); err != nil {
					t.Fatal(err)
				}
				want := self
				if !only {
					want, _ = d.VersionPath("1")
				}
				cmd, out := packageAgent(t, agentEnv(d)...)
				waitRunning(t, cmd, out, want)
				if line := passedOver(out.String(), "2"); !strings.Contains(line, tc.words) {
					t.Errorf("no log line saying 2 was passed over (%s):\n%s", tc.words, out)
				}
			})
		}
	}
}

// TestStartPassesOverCrashingVersion: a confirmed version that crashes at
// every start, restarted by a supervisor loop as systemd's Restart= does,
// is passed over after 3 starts for the previous confirmed version, which
// then runs and stays up; the crashing one is recorded failed.
func TestStartPassesOverCrashingVersion(t *testing.T) {
	files := map[string][]byte{
		"1": readFile(t, agentBuild(t, "1")),
		"3": []byte("#!/bin/sh\necho 'agent 3: crashing at start' >&2\nexit 1\n"),
	}
	d := agentDirWith(t, files, "1", "3")
	v1, _ := d.VersionPath("1")
	for start := 1; start <= agentdir.MaxStarts; start++ {
		cmd, out := packageAgent(t, agentEnv(d)...)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out.String(), "agent 3: crashing") {
			t.Fatalf("start %d: got %v, want version 3 to exit 1:\n%s", start, err, out)
		}
	}
	cmd, out := packageAgent(t, agentEnv(d)...)
	waitRunning(t, cmd, out, v1)
	if line := passedOver(out.String(), "3"); !strings.Contains(line, "3 times in a row") {
		t.Errorf("no log line for 3:\n%s", out)
	}
	f, failed, err := d.Failed("3")
	if err != nil || !failed || !strings.Contains(f.Reason, "3 times in a row") {
		t.Errorf("3 recorded failed: got %+v, %v, %v", f, failed, err)
	}
	// The next start (systemd restarting the unit) runs 1 again.
	cmd, out = packageAgent(t, agentEnv(d)...)
	waitRunning(t, cmd, out, v1)
}

// TestRetryAgent: retry --agent forgets the failed agent releases and the
// start count in the agent dir, under its lock; with nothing failed it
// exits 1, and a missing dir is a usage error that creates nothing.
func TestRetryAgent(t *testing.T) {
	d, err := agentdir.Open(filepath.Join(t.TempDir(), "agent"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"2", "3"} {
		if err := d.Fail(v, "exits at once"); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Started("1"); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "retry", "--agent", "--agent-dir", d.Path())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, v := range []string{"2", "3"} {
		if !strings.Contains(stdout, "agent version "+v+" (failed: exits at once) will be tried again") {
			t.Errorf("stdout does not name version %s: %q", v, stdout)
		}
	}
	r, _ := d.Record()
	if len(r.Failed) != 0 || r.Starts.Count != 0 {
		t.Errorf("after retry --agent: failed %v, starts %+v", r.Failed, r.Starts)
	}
	t.Setenv("RECONCILER_AGENT_DIR", d.Path()) // the unit's environment
	if _, stderr, code := runCLI(t, "retry", "--agent"); code != 1 || !strings.Contains(stderr, "nothing to retry") {
		t.Errorf("nothing failed: got exit %d, %q; want 1, nothing to retry", code, stderr)
	}
	missing := filepath.Join(t.TempDir(), "typo")
	if _, stderr, code := runCLI(t, "retry", "--agent", "--agent-dir", missing); code != 2 || !strings.Contains(stderr, missing) {
		t.Errorf("missing dir: got exit %d, %q; want 2 naming it", code, stderr)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("retry --agent created %s", missing)
	}
	if err := os.Chmod(d.Path(), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, "retry", "--agent"); code != 1 || !strings.Contains(stderr, "lets other users write") {
		t.Errorf("unsafe dir: got exit %d, %q; want 1, refused", code, stderr)
	}
}

// TestAgentNotifiesReady: under a Type=notify unit, the agent (run --dir
// and run --apps-dir) sends READY=1 to $NOTIFY_SOCKET once it started: a
// real unixgram socket, as systemd's.
func TestAgentNotifiesReady(t *testing.T) {
	for _, mode := range []string{"--dir", "--apps-dir"} {
		t.Run(mode, func(t *testing.T) {
			socket := filepath.Join(t.TempDir(), "notify")
			conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: socket, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			args := []string{"run", "--dir", filepath.Join(t.TempDir(), "app"), "--repo", "file:///nonexistent", "--schedule", "@every 1h"}
			if mode == "--apps-dir" {
				args = []string{"run", "--apps-dir", t.TempDir(), "--cache-dir", t.TempDir()}
			}
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), "RECONCILER_TEST_MAIN=1", "NOTIFY_SOCKET="+socket)
			out := &syncBuffer{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			buf := make([]byte, 256)
			n, err := conn.Read(buf)
			if err != nil || string(buf[:n]) != "READY=1" {
				t.Fatalf("got %q, %v; want READY=1\n%s", buf[:n], err, out)
			}
			// The log line is written before READY=1, but reaches this
			// buffer through a pipe: wait for it.
			waitFor(t, "the agent's start in its log", func() bool { return strings.Contains(out.String(), `"agent starting"`) })
		})
	}
}

// TestStartKilledAtRandomMoments: the start SIGKILLed at random moments
// (choosing, counting, just after the exec) leaves the agent dir
// consistent: the record reads, the confirmed binary is whole, and the
// next start runs it.
func TestStartKilledAtRandomMoments(t *testing.T) {
	one := readFile(t, agentBuild(t, "1"))
	d := agentDirWith(t, map[string][]byte{"1": one}, "1")
	v1, _ := d.VersionPath("1")
	for i := range 20 {
		cmd, _ := packageAgent(t, agentEnv(d)...)
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond) // the moment of the kill, not a wait for anything
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		r, err := d.Record()
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		if len(r.Confirmed)+len(r.Failed) != 1 {
			t.Fatalf("kill %d: record %+v", i, r)
		}
		if _, err := d.Retry(); err != nil { // 20 starts without a good poll would pass 1 over
			t.Fatal(err)
		}
	}
	if !bytes.Equal(readFile(t, v1), one) {
		t.Fatal("the confirmed binary changed")
	}
	cmd, out := packageAgent(t, agentEnv(d)...)
	waitRunning(t, cmd, out, v1)
}
