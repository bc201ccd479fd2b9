package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/procfs"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// hookScript writes an executable shell script into dir and returns its
// absolute path.
func hookScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// lines returns the lines of file, none when it is missing.
func lines(file string) []string {
	data, _ := os.ReadFile(file)
	return strings.Fields(string(data))
}

// pidsGone waits until no pid listed in file is alive.
func pidsGone(t *testing.T, file string) {
	t.Helper()
	for _, f := range lines(file) {
		pid, _ := strconv.Atoi(f)
		waitFor(t, "pid "+f+" of the hook to be killed", func() bool { return !procfs.Alive(pid) })
	}
}

// killPIDs kills every pid listed in file, with its process group.
func killPIDs(file string) {
	for _, f := range lines(file) {
		if pid, _ := strconv.Atoi(f); pid > 0 {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func loadState(t *testing.T, dir string) reconcile.State {
	t.Helper()
	layout, err := reconcile.NewLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := layout.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// envOf reads a file written by `env` into a map.
func envOf(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the hook's environment: %v", err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && strings.HasPrefix(k, "RECONCILER_") {
			env[k] = v
		}
	}
	return env
}

func wantEnv(t *testing.T, hook string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s hook: got %s=%q, want %q", hook, k, got[k], v)
		}
	}
}

// TestSyncPreSwitch runs real scripts as --pre-switch between release 1.0
// and 2.0; each passes for 1.0. One that fails or hangs switches nothing
// and fails the revision, which the next sync does not try again; one that
// passes, or leaves a child behind and exits 0, lets the switch go on.
func TestSyncPreSwitch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string // for 2.0; %T is a file of the case
		timeout string
		want    string // in the error of the sync of 2.0; "": it succeeds
		then    func(t *testing.T, file string, took time.Duration)
	}{
		{name: "exits 0", body: "env > %T\nexit 0\n"},
		{name: "exits 1", body: "echo the migration says no >&2\nexit 1\n", want: "the migration says no"},
		{name: "hangs", timeout: "1s", body: "echo $$ >> %T\nsleep 300 &\necho $! >> %T\nwait\n",
			want: "killed with its process group at --hook-timeout 1s",
			then: func(t *testing.T, file string, took time.Duration) {
				if took > 8*time.Second {
					t.Errorf("the sync took %s, want the hook killed at --hook-timeout 1s", took)
				}
				pidsGone(t, file) // its child too
			}},
		{name: "forks and exits 0", body: "sleep 300 &\necho $! > %T\nexit 0\n",
			then: func(t *testing.T, file string, took time.Duration) {
				if took > 8*time.Second {
					t.Errorf("the sync took %s, want no wait for the child the hook left", took)
				}
				pidsGone(t, file)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDeployRepo(t)
			dir, tmp := t.TempDir(), t.TempDir()
			file, runs := filepath.Join(tmp, "file"), filepath.Join(tmp, "runs")
			t.Cleanup(func() { killPIDs(file) })
			pre := hookScript(t, tmp, "pre.sh", "echo \"$RECONCILER_TO_VERSION\" >> "+runs+"\n[ \"$RECONCILER_TO_VERSION\" = 1.0 ] && exit 0\n"+
				strings.ReplaceAll(tt.body, "%T", file))
			extra := []string{"--pre-switch", pre}
			if tt.timeout != "" {
				extra = append(extra, "--hook-timeout", tt.timeout)
			}
			d.release("1.0")
			mustSync(t, d.URL(), dir, extra...)
			rev2 := d.release("2.0")
			start := time.Now()
			_, errOut, code := runCLI(t, syncArgs(d.URL(), dir, extra...)...)
			took := time.Since(start)
			if tt.then != nil {
				tt.then(t, file, took)
			}
			if tt.want == "" {
				if code != 0 {
					t.Fatalf("sync of 2.0: exit %d %s", code, errOut)
				}
				assertApplied(t, dir, "2.0", rev2)
				assertLinks(t, dir, "2.0")
				if tt.name == "exits 0" {
					wantEnv(t, "pre-switch", envOf(t, file), map[string]string{"RECONCILER_DIR": dir,
						"RECONCILER_FROM_VERSION": "1.0", "RECONCILER_TO_VERSION": "2.0", "RECONCILER_REVISION": rev2,
						"RECONCILER_BIN": filepath.Join(dir, "release", "app.2.0"), "RECONCILER_CFG": filepath.Join(dir, "release", "cfg.2.0")})
				}
				return
			}
			if code != 1 || !strings.Contains(errOut, "pre-switch hook") || !strings.Contains(errOut, tt.want) ||
				!strings.Contains(errOut, "nothing was switched") {
				t.Fatalf("sync of 2.0: got exit %d %q, want 1 saying the pre-switch hook failed (%s) and nothing was switched", code, errOut, tt.want)
			}
			assertLinks(t, dir, "1.0")
			if v := readConf(t, dir)["version"]; v != "1.0" {
				t.Errorf("current.conf: got version %s, want 1.0 (not rewritten)", v)
			}
			st := loadState(t, dir)
			if f, ok := st.IsFailed(rev2); !ok || !strings.Contains(f.Reason, tt.want) {
				t.Errorf("state: got failed %+v, want %s recorded failed saying %q", f, rev2[:12], tt.want)
			}
			_, errOut, code = runCLI(t, syncArgs(d.URL(), dir, extra...)...)
			if code != 1 || !strings.Contains(errOut, "failed before") {
				t.Errorf("sync of 2.0 again: got exit %d %q, want the failed revision skipped", code, errOut)
			}
			if got := strings.Join(lines(runs), " "); got != "1.0 2.0" {
				t.Errorf("the hook ran for %q, want once for 1.0 and once for 2.0", got)
			}
		})
	}
}

// TestSyncPostSwitchFails: a post-switch hook that fails is reported, and
// the switch stays; it is told the switch, the revision included.
func TestSyncPostSwitchFails(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	dir, tmp := t.TempDir(), t.TempDir()
	envFile := filepath.Join(tmp, "env")
	post := hookScript(t, tmp, "post.sh", "env > "+envFile+"\necho the cache did not warm >&2\nexit 1\n")
	rev1 := d.release("1.0")
	out, errOut, code := runCLI(t, syncArgs(d.URL(), dir, "--post-switch", post)...)
	if code != 0 || !strings.Contains(out, "(applied)") {
		t.Fatalf("sync with a failing post-switch hook: got exit %d %s%s, want 0 and applied", code, out, errOut)
	}
	assertApplied(t, dir, "1.0", rev1)
	assertLinks(t, dir, "1.0")
	if !strings.Contains(errOut, `"msg":"hook failed`) || !strings.Contains(errOut, "the cache did not warm") {
		t.Errorf("log: got %s, want the failed hook and its output", errOut)
	}
	wantEnv(t, "post-switch", envOf(t, envFile), map[string]string{"RECONCILER_DIR": dir,
		"RECONCILER_FROM_VERSION": "", "RECONCILER_TO_VERSION": "1.0", "RECONCILER_REVISION": rev1,
		"RECONCILER_BIN": filepath.Join(dir, "release", "app.1.0"), "RECONCILER_CFG": filepath.Join(dir, "release", "cfg.1.0")})
	st := loadState(t, dir)
	if len(st.Failed) != 0 || st.Hooks == nil || len(st.Hooks.Runs) != 1 || st.Hooks.Runs[0].Error == "" || st.Hooks.Runs[0].Finished.IsZero() {
		t.Errorf("state: got failed %+v, hooks %+v; want no failure and the post-switch run recorded finished with its error", st.Failed, st.Hooks)
	}
}

// TestSyncOnRollback: a release that does not come up is switched back and
// then the on-rollback hook runs, told the switch back; the health command
// is told the revision.
func TestSyncOnRollback(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	addr := freeAddr(t)
	dir, tmp := t.TempDir(), t.TempDir()
	killApps(t, dir)
	rollEnv, postRuns, health := filepath.Join(tmp, "rollback-env"), filepath.Join(tmp, "post"), filepath.Join(tmp, "health")
	args := []string{"sync", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir, "--log-format", "json",
		"--health-url", "http://" + addr + "/healthz", "--health-timeout", "3s",
		"--health-cmd", hookScript(t, tmp, "health.sh", "echo \"$RECONCILER_TO_VERSION $RECONCILER_REVISION\" >> "+health+"\n"),
		"--post-switch", hookScript(t, tmp, "post.sh", "echo \"$RECONCILER_TO_VERSION\" >> "+postRuns+"\n"),
		"--on-rollback", hookScript(t, tmp, "rollback.sh", "env > "+rollEnv+"\n")}
	rev1 := d.releaseApp(t, "1", addr, nil)
	if out, errOut, code := runCLI(t, args...); code != 0 {
		t.Fatalf("first sync: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(rollEnv); err == nil {
		t.Fatal("the on-rollback hook ran after a good switch")
	}
	if got := lines(health); len(got) < 2 || got[0] != "1" || got[1] != rev1 {
		t.Errorf("the health command was told %q, want version 1 at revision %s", got, rev1)
	}
	bad := d.releaseApp(t, "2-bad", addr, map[string]any{"healthy": false})
	if _, errOut, code := runCLI(t, args...); code != 1 || !strings.Contains(errOut, "switched back") {
		t.Fatalf("sync of an unhealthy release: got exit %d %q, want it switched back", code, errOut)
	}
	assertSwitchedBack(t, dir, addr, "1", "exampleapp 1:", bad)
	wantEnv(t, "on-rollback", envOf(t, rollEnv), map[string]string{"RECONCILER_DIR": dir,
		"RECONCILER_FROM_VERSION": "2-bad", "RECONCILER_TO_VERSION": "1", "RECONCILER_REVISION": rev1,
		"RECONCILER_BIN": filepath.Join(dir, "release", "app.1"), "RECONCILER_CFG": filepath.Join(dir, "release", "cfg.1")})
	if got := strings.Join(lines(postRuns), " "); got != "1" {
		t.Errorf("the post-switch hook ran for %q, want for release 1 only", got)
	}
}

// TestSyncKilledInPreSwitch SIGKILLs a real sync while its pre-switch hook
// runs. The hook, in a process group of its own, runs on; the next sync
// does not run it again but fails the revision, asking a person to check;
// after `reconciler retry` it runs again.
func TestSyncKilledInPreSwitch(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	dir, tmp := t.TempDir(), t.TempDir()
	runs, pids := filepath.Join(tmp, "runs"), filepath.Join(tmp, "pids")
	t.Cleanup(func() { killPIDs(pids) })
	pre := hookScript(t, tmp, "pre.sh", "echo \"$RECONCILER_TO_VERSION\" >> "+runs+"\n[ \"$RECONCILER_TO_VERSION\" = 1.0 ] && exit 0\n"+
		"echo $$ >> "+pids+"\n[ -e "+filepath.Join(tmp, "fixed")+" ] && exit 0\nsleep 300\n")
	d.release("1.0")
	mustSync(t, d.URL(), dir, "--pre-switch", pre)
	rev2 := d.release("2.0")

	child := childSync(t, syncArgs(d.URL(), dir, "--pre-switch", pre)...)
	waitFor(t, "the pre-switch hook of 2.0 to start", func() bool { return len(lines(pids)) == 1 })
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	hookPID, _ := strconv.Atoi(lines(pids)[0])
	if !procfs.Alive(hookPID) {
		t.Errorf("the hook (pid %d) died with the agent, want it to run on in its own process group", hookPID)
	}

	_, errOut, code := runCLI(t, syncArgs(d.URL(), dir, "--pre-switch", pre)...)
	if code != 1 || !strings.Contains(errOut, "failed before") || !strings.Contains(errOut, "pre-switch hook interrupted") ||
		!strings.Contains(errOut, "reconciler retry --dir "+dir) {
		t.Errorf("sync after the kill: got exit %d %q, want the revision failed: hook interrupted, check and retry", code, errOut)
	}
	if got := strings.Join(lines(runs), " "); got != "1.0 2.0" {
		t.Errorf("the hook ran for %q, want once for 2.0", got)
	}
	assertLinks(t, dir, "1.0")
	st := loadState(t, dir)
	if f, ok := st.IsFailed(rev2); !ok || !strings.Contains(f.Reason, "interrupted") {
		t.Errorf("state: got %+v, want %s failed as interrupted", f, rev2[:12])
	}

	// A person checked, fixed and asked for a retry: the hook runs again.
	if err := os.WriteFile(filepath.Join(tmp, "fixed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, "retry", "--dir", dir); code != 0 {
		t.Fatalf("retry: exit %d %s", code, errOut)
	}
	mustSync(t, d.URL(), dir, "--pre-switch", pre)
	assertApplied(t, dir, "2.0", rev2)
	if got := strings.Join(lines(runs), " "); got != "1.0 2.0 2.0" {
		t.Errorf("the hook ran for %q, want once more for 2.0 after the retry", got)
	}
}

// TestHookFlagsRefused: a hook whose program is missing or not executable,
// or a bad --hook-timeout, is a usage error naming the flag, before
// anything is created.
func TestHookFlagsRefused(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmp, "not-executable"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "app")
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--pre-switch", "./no-such-migration --up"}, []string{"--pre-switch", "no-such-migration"}},
		{[]string{"--post-switch", "no-such-program-anywhere"}, []string{"--post-switch", "executable file not found"}},
		{[]string{"--on-rollback", filepath.Join(tmp, "not-executable")}, []string{"--on-rollback", "permission denied"}},
		{[]string{"--hook-timeout", "0s"}, []string{"--hook-timeout must be positive"}},
	}
	for _, cmd := range []string{"sync", "run", "watch"} {
		for _, tt := range tests {
			args := append([]string{cmd, "--dir", dir}, tt.args...)
			if cmd != "watch" {
				args = append(args, "--repo", "file:///nowhere")
			}
			_, errOut, code := runCLI(t, args...)
			for _, w := range tt.want {
				if code != 2 || !strings.Contains(errOut, w) {
					t.Errorf("%v: got exit %d %q, want 2 and %q", args, code, errOut, w)
				}
			}
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("--dir %s was created by refused commands (%v)", dir, err)
	}
}

// TestWatchHooks runs the real watcher with hooks: they run around a hand
// edit's switch, told no revision; a failed pre-switch hook leaves the links
// where they are and puts release/current.conf back, so it does not run
// again until the next edit.
func TestWatchHooks(t *testing.T) {
	t.Parallel()
	dir, tmp := handDir(t, "1", "2", "3"), t.TempDir()
	conf := filepath.Join(dir, "release", "current.conf")
	if err := os.WriteFile(conf, []byte(confFor(dir, "1")), 0o644); err != nil {
		t.Fatal(err)
	}
	runs, postEnv := filepath.Join(tmp, "runs"), filepath.Join(tmp, "post-env")
	pre := hookScript(t, tmp, "pre.sh", "echo \"$RECONCILER_TO_VERSION\" >> "+runs+"\n"+
		"[ \"$RECONCILER_TO_VERSION\" = 2 ] && { echo no migration for 2 >&2; exit 1; }\nexit 0\n")
	post := hookScript(t, tmp, "post.sh", "env > "+postEnv+".tmp\nmv "+postEnv+".tmp "+postEnv+"\n")
	var logs syncBuffer
	cmd := exec.Command(os.Args[0], "watch", "--dir", dir, "--restart", "none", "--log-format", "json", "--resync", "100ms",
		"--pre-switch", pre, "--post-switch", post)
	cmd.Env = append(os.Environ(), "RECONCILER_TEST_MAIN=1")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	switchedTo := func(v string) {
		t.Helper()
		waitFor(t, "the switch to "+v+" and its post-switch hook", func() bool {
			_, err := os.Stat(postEnv)
			return linkOf(dir, "app.bin") == "release/app."+v && err == nil && envOf(t, postEnv)["RECONCILER_TO_VERSION"] == v
		})
	}
	switchedTo("1")

	if err := os.WriteFile(conf, []byte(confFor(dir, "3")), 0o644); err != nil {
		t.Fatal(err)
	}
	switchedTo("3")
	wantEnv(t, "post-switch", envOf(t, postEnv), map[string]string{"RECONCILER_DIR": dir,
		"RECONCILER_FROM_VERSION": "1", "RECONCILER_TO_VERSION": "3", "RECONCILER_REVISION": "",
		"RECONCILER_BIN": filepath.Join(dir, "release", "app.3"), "RECONCILER_CFG": filepath.Join(dir, "release", "cfg.3")})

	if err := os.WriteFile(conf, []byte(confFor(dir, "2")), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "release/current.conf put back to 3 after the failed pre-switch hook", func() bool {
		data, _ := os.ReadFile(conf)
		return strings.Contains(string(data), "app.3")
	})
	if got := linkOf(dir, "app.bin"); got != "release/app.3" {
		t.Errorf("app.bin after a failed pre-switch hook: got -> %s, want -> release/app.3", got)
	}
	if !strings.Contains(logs.String(), "no migration for 2") {
		t.Errorf("log: got %s, want the failed hook's output", logs.String())
	}

	// The next edit switches again, some re-checks later: the failed hook
	// did not run again meanwhile.
	if err := os.WriteFile(conf, []byte(confFor(dir, "1")), 0o644); err != nil {
		t.Fatal(err)
	}
	switchedTo("1")
	if got := strings.Join(lines(runs), " "); got != "1 3 2 1" {
		t.Errorf("the pre-switch hook ran for %q, want 1 3 2 1", got)
	}
}

// TestHookEnvNotWarned: a reconciler run by a hook (say `reconciler status`)
// inherits the hook's RECONCILER_* variables and warns about none of them.
func TestHookEnvNotWarned(t *testing.T) {
	dir := t.TempDir()
	for _, name := range appdir.EnvNames() {
		t.Setenv(name, "x")
	}
	t.Setenv("RECONCILER_DIR", dir)
	_, errOut, _ := runCLI(t, "status")
	if strings.Contains(errOut, "warning") {
		t.Errorf("status run from a hook: got stderr %q, want no warning", errOut)
	}
}
