package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// TestCommandsRefuseNonAppDir: commands that act on an existing app
// directory refuse a missing or empty one (a typo in --dir) and create
// nothing.
func TestCommandsRefuseNonAppDir(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	empty := filepath.Join(base, "empty")
	os.Mkdir(empty, 0o755)
	missing := filepath.Join(base, "srv", "wbe")
	for _, dir := range []string{missing, empty} {
		for _, args := range [][]string{
			{"status", "--dir", dir},
			{"suspend", "--dir", dir, "--reason", "x"},
			{"resume", "--dir", dir},
			{"retry", "--dir", dir},
			{"watch", "--dir", dir, "--log-format", "json"},
		} {
			_, errOut, code := runCLI(t, args...)
			if code != 2 || !strings.Contains(errOut, "not an app directory") || !strings.Contains(errOut, dir) {
				t.Errorf("%s on %s: exit %d %q, want exit 2 and a refusal naming the directory", args[0], dir, code, errOut)
			}
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a command created the mistyped %s", missing)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("a command wrote into the empty directory: %v", entries)
	}
	// release/ alone is an app directory (filled by hand, for watch).
	os.Mkdir(filepath.Join(empty, "release"), 0o755)
	if _, errOut, code := runCLI(t, "suspend", "--dir", empty, "--reason", "x"); code != 0 {
		t.Errorf("suspend on a dir with release/: exit %d %s", code, errOut)
	}
}

// TestFailedRevisionLifecycle: a release that exits at once is rolled back
// without any --health-url; the failure shows in status as the one that
// matters and blocks the revision; `retry` tries it again; status exit
// codes follow the app; pruning drops failed releases first; a later good
// commit clears the failure.
func TestFailedRevisionLifecycle(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	addr := freeAddr(t)
	dir := t.TempDir()
	killApps(t, dir)
	sync := func(extra ...string) (string, int) {
		args := append([]string{"sync", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
			"--restart", "restart", "--keep", "3", "--log-format", "json"}, extra...)
		_, errOut, code := runCLI(t, args...)
		return errOut, code
	}
	status := func() (string, int) {
		out, _, code := runCLI(t, "status", "--dir", dir)
		return out, code
	}

	d.releaseApp(t, "1", addr, nil)
	if errOut, code := sync(); code != 0 {
		t.Fatalf("sync 1: exit %d %s", code, errOut)
	}
	d.releaseApp(t, "2", addr, nil)
	if errOut, code := sync(); code != 0 {
		t.Fatalf("sync 2: exit %d %s", code, errOut)
	}
	if out, code := status(); code != 0 {
		t.Errorf("status with the app up: exit %d, want 0\n%s", code, out)
	}

	bad3 := d.releaseApp(t, "3", addr, map[string]any{"fail_start": true})
	errOut, code := sync()
	if code != 1 || !strings.Contains(errOut, "did not come up") || !strings.Contains(errOut, "fail_start") {
		t.Fatalf("sync of a release that exits at once, no --health-url: exit %d %q, want a rollback quoting app.log", code, errOut)
	}
	if !strings.HasPrefix(testkit.Answer(addr), "exampleapp 2:") {
		t.Errorf("after the rollback the app answers %q, want 2", testkit.Answer(addr))
	}
	errOut, code = sync()
	if code != 1 || !strings.Contains(errOut, "failed before") || !strings.Contains(errOut, "reconciler retry --dir") {
		t.Errorf("sync of the failed revision again: exit %d %q, want it skipped with the way to retry", code, errOut)
	}
	out, _ := status()
	if !strings.Contains(out, "failing:") || !strings.Contains(out, bad3[:12]) {
		t.Errorf("status does not show the failure that matters:\n%s", out)
	}
	if o, _, code := runCLI(t, "retry", "--dir", dir); code != 0 || !strings.Contains(o, bad3[:12]) {
		t.Errorf("retry: exit %d %q", code, o)
	}
	errOut, code = sync()
	if code != 1 || strings.Contains(errOut, "failed before") || !strings.Contains(errOut, "did not come up") {
		t.Errorf("sync after retry: exit %d %q, want the revision tried (and failing) again", code, errOut)
	}
	d.releaseApp(t, "4", addr, map[string]any{"fail_start": true})
	if _, code := sync(); code != 1 {
		t.Fatal("sync of the second bad release: exit 0")
	}

	// The app killed: status says so with exit 1.
	for _, pid := range []int{readPID(t, dir)} {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	waitFor(t, "the app to die", func() bool { return readPIDIfAny(dir) == 0 })
	if out, code := status(); code != 1 || !strings.Contains(out, "not running") {
		t.Errorf("status with the app down: exit %d, want 1\n%s", code, out)
	}

	d.releaseApp(t, "5", addr, nil)
	if errOut, code := sync(); code != 0 {
		t.Fatalf("sync 5: exit %d %s", code, errOut)
	}
	out, code = status()
	if code != 0 || strings.Contains(out, "failing:") || !strings.Contains(out, "failed before:") {
		t.Errorf("status after a good release: exit %d, want 0, no current failure, the history kept\n%s", code, out)
	}
	var got []string
	entries, _ := os.ReadDir(filepath.Join(dir, "release"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "app.") {
			got = append(got, e.Name())
		}
	}
	if strings.Join(got, " ") != "app.1 app.2 app.5" {
		t.Errorf("release/ after --keep 3: got %v, want app.1 app.2 app.5 (the failed 3 and 4 pruned first)", got)
	}
}

// TestAgentLooksAfterAppWhileHeadFailed: while the branch points at a
// revision that failed, a real agent still restarts the applied release
// when it dies, and its metrics say so (app up, followed revision failed);
// a later good commit clears the failure gauge.
func TestAgentLooksAfterAppWhileHeadFailed(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	addr := freeAddr(t)
	dir := t.TempDir()
	killApps(t, dir)
	answers := func(v string) func() bool {
		return func() bool { return strings.HasPrefix(testkit.Answer(addr), "exampleapp "+v+":") }
	}
	d.releaseApp(t, "1", addr, nil)
	a := startAgent(t, "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
		"--schedule", "@every 1s", "--listen", freeAddr(t), "--health-url", "http://"+addr+"/healthz",
		"--health-timeout", "5s", "--log-format", "json")
	a.listen = a.cmd.Args[indexOf(a.cmd.Args, "--listen")+1]
	waitFor(t, "the agent to deploy 1", answers("1"))
	if strings.Contains(a.logs.String(), "changed outside the agent") {
		t.Errorf("the agent's start logged a change of current.conf although nothing changed:\n%s", a.logs.String())
	}

	d.releaseApp(t, "2", addr, map[string]any{"fail_start": true})
	waitFor(t, "release 2 to be recorded failed", func() bool {
		return a.metric(t, "reconciler_failed_revisions") == 1
	})
	syscall.Kill(readPID(t, dir), syscall.SIGKILL)
	waitFor(t, "the agent to start release 1 again", func() bool {
		return answers("1")() && a.metric(t, "reconciler_app_up") == 1
	})
	waitFor(t, "a few polls of the failed revision", func() bool {
		return a.metric(t, `reconciler_polls_total{result="skipped"}`) >= 3
	})
	if n := strings.Count(a.logs.String(), "not applying a revision that failed before"); n != 1 {
		t.Errorf("the skipped revision was logged %d times above debug, want once", n)
	}

	d.releaseApp(t, "3", addr, nil)
	waitFor(t, "release 3", answers("3"))
	waitFor(t, "the failure gauge to clear", func() bool { return a.metric(t, "reconciler_failed_revisions") == 0 })
}

// TestHelpAndCompletion: --help lists only the flags that act in a
// command (the others are still accepted, for shared environment files),
// and fixed flag values complete.
func TestHelpAndCompletion(t *testing.T) {
	t.Parallel()
	out, _, _ := runCLI(t, "diff", "--help")
	if strings.Contains(out, "--health-url") || !strings.Contains(out, "--restart") {
		t.Errorf("diff --help: want --restart listed and --health-url not:\n%s", out)
	}
	out, _, _ = runCLI(t, "watch", "--help")
	if strings.Contains(out, "--max-artifact-size") {
		t.Errorf("watch --help lists --max-artifact-size, which watch does not use:\n%s", out)
	}
	_, errOut, code := runCLI(t, "diff", "--health-url", "http://127.0.0.1:1/", "--dir", t.TempDir())
	if strings.Contains(errOut, "unknown flag") || code != 2 {
		t.Errorf("diff with a hidden switch flag: exit %d %q, want it accepted (and --repo missing)", code, errOut)
	}
	for flag, want := range map[string]string{"--restart": "hup\nrestart\nnone", "--log-format": "text\njson"} {
		out, _, _ := runCLI(t, "__complete", "sync", flag, "")
		if !strings.HasPrefix(out, want+"\n") {
			t.Errorf("completion of sync %s: got %q, want %q", flag, out, want)
		}
	}
}

// TestErrorClassInStatus: a broken desired file is an error that needs a
// person, an unreachable artifact store one to retry; status says which.
func TestErrorClassInStatus(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	dir := t.TempDir()
	d.release("1.0")
	mustSync(t, d.URL(), dir)
	for _, tc := range []struct {
		desired string
		want    reconcile.ErrorClass
	}{
		{`{"version": "2.0"}`, reconcile.ClassNeedsPerson},
		{`{"version": "2.0", "bin": {"url": "http://127.0.0.1:1/x", "sha256": "` + strings.Repeat("a", 64) + `"}}`, reconcile.ClassRetry},
	} {
		d.commitDesired(tc.desired)
		if _, _, code := runCLI(t, syncArgs(d.URL(), dir)...); code != 1 {
			t.Fatalf("sync of %s: exit 0", tc.desired)
		}
		out, _, _ := runCLI(t, "status", "--dir", dir, "--json")
		var st reconcile.Status
		if err := json.Unmarshal([]byte(out), &st); err != nil || st.LastError == nil || st.LastError.Class != tc.want {
			t.Errorf("status after %s: %+v (%v), want last error of class %s", tc.desired, st.LastError, err, tc.want)
		}
	}
	if got := reconcile.Classify(fmt.Errorf("ls: %w", gitsrc.ErrAuth)); got != reconcile.ClassNeedsPerson {
		t.Errorf("auth failure: class %s, want needs_person", got)
	}
}
