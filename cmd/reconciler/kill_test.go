package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// TestMain lets a test run the real command as a child process: the test
// binary re-executes itself with RECONCILER_TEST_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("RECONCILER_TEST_MAIN") == "1" {
		main()
		return
	}
	code := m.Run()
	removeAppBuilds()
	os.Exit(code)
}

func childSync(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RECONCILER_TEST_MAIN=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// waitFor is testkit.WaitFor, by the name this package's many tests use.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, what, cond)
}

func tempFiles(dir string) []string {
	entries, _ := os.ReadDir(filepath.Join(dir, "release"))
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestSyncKilledMidDownload SIGKILLs a real sync while it downloads, then
// checks the directory is consistent and the next run finishes the job.
func TestSyncKilledMidDownload(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	rev1 := d.release("1.0")
	dir := t.TempDir()
	mustSync(t, d.URL(), dir)

	rev2 := d.release("2.0")
	d.art.setFault("/web-2.0", "stall") // half the body, then nothing
	killMidDownload(t, childSync(t, syncArgs(d.URL(), dir)...), dir)
	_ = rev1

	// The next run takes the (not stale) lock, cleans up and finishes.
	d.art.setFault("/web-2.0", "")
	mustSync(t, d.URL(), dir)
	assertApplied(t, dir, "2.0", rev2)
}

// killMidDownload SIGKILLs child, a sync from 1.0 to 2.0, once its
// download has begun, and checks what it leaves: 1.0 still applied, no
// partial release/app.2.0.
func killMidDownload(t *testing.T, child *exec.Cmd, dir string) {
	t.Helper()
	waitFor(t, "the download's temporary file", func() bool { return len(tempFiles(dir)) > 0 })
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if _, err := os.Stat(filepath.Join(dir, "release", "app.2.0")); !os.IsNotExist(err) {
		t.Errorf("release/app.2.0 exists after a killed download (%v), want no partial file", err)
	}
	if v := readConf(t, dir)["version"]; v != "1.0" {
		t.Errorf("current.conf: got version %s, want 1.0", v)
	}
	assertLinks(t, dir, "1.0")
}

func assertLinks(t *testing.T, dir, version string) {
	t.Helper()
	for link, target := range map[string]string{"app.bin": "release/app." + version, "app.cfg": "release/cfg." + version} {
		if got, _ := os.Readlink(filepath.Join(dir, link)); got != target {
			t.Errorf("%s: got -> %q, want -> %q", link, got, target)
		}
		if _, err := os.Stat(filepath.Join(dir, link)); err != nil {
			t.Errorf("%s dangles: %v", link, err)
		}
	}
}

// TestSecondReconcilerRefused: while one reconciler holds the directory, a
// second exits at once with a clear error and changes nothing.
func TestSecondReconcilerRefused(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	d.release("1.0")
	dir := t.TempDir()
	layout, _ := reconcile.NewLayout(dir)
	lock, err := layout.Lock()
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCLI(t, syncArgs(d.URL(), dir)...)
	if code != 1 || !strings.Contains(errOut, "another reconciler") || !strings.Contains(errOut, "pid") {
		t.Errorf("got exit %d %q, want an error naming the other reconciler", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "release")); !os.IsNotExist(err) {
		t.Errorf("release/ was created by a refused sync (%v)", err)
	}
	lock.Unlock()
	mustSync(t, d.URL(), dir)
}
