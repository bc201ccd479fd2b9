package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/restart"
)

// TestSyncFirstReleaseCrashes: a directory's first release that exits at
// start is recorded failed with an error that says there was no previous
// release (not "switched back to the previous release"); no link, no
// current.conf and no process of it are left; the next good commit
// deploys as into a new directory.
func TestSyncFirstReleaseCrashes(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	addr, dir := freeAddr(t), t.TempDir()
	killApps(t, dir)
	args := []string{"sync", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
		"--health-url", "http://" + addr + "/healthz", "--health-timeout", "5s", "--log-format", "json"}
	d.releaseApp(t, "1", addr, map[string]any{"fail_start": true})
	_, errOut, code := runCLI(t, args...)
	if code == 0 || strings.Contains(errOut, "switched back to the previous release") || !strings.Contains(errOut, "no previous release") {
		t.Fatalf("first sync of a crashing release: exit %d\n%s\nwant a failure saying there is no previous release", code, errOut)
	}
	for _, name := range []string{"app.bin", "app.cfg", "release/current.conf"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s left after the failed first release", name)
		}
	}
	if procs, _ := (restart.Finder{Dir: dir}).Find(); len(procs) != 0 {
		t.Errorf("processes of the failed release still run: %+v", procs)
	}
	d.releaseApp(t, "2", addr, nil)
	if out, errOut, code := runCLI(t, args...); code != 0 {
		t.Fatalf("sync of a good release after it: exit %d\n%s%s", code, out, errOut)
	}
	if !answers(addr, "2") {
		t.Errorf("after the good release the app answers %q, want 2", testkit.Answer(addr))
	}
}

// TestAgentFirstReleaseCrashes: under a real agent polling every second, a
// first release that exits at start is recorded failed once; the polls
// after it neither start it again nor put a link back; the next good
// commit deploys.
func TestAgentFirstReleaseCrashes(t *testing.T) {
	t.Parallel()
	d, addr, dir, listen := newDeployRepo(t), freeAddr(t), t.TempDir(), freeAddr(t)
	killApps(t, dir)
	d.releaseApp(t, "1", addr, map[string]any{"fail_start": true})
	a := startAgent(t, "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
		"--schedule", "@every 1s", "--listen", listen, "--health-url", "http://"+addr+"/healthz",
		"--health-timeout", "5s", "--log-format", "json")
	a.listen = listen
	waitFor(t, "the agent to listen", func() bool {
		resp, err := http.Get("http://" + listen + "/metrics")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	waitFor(t, "3 skipped polls of the failed first release", func() bool {
		return a.metric(t, `reconciler_polls_total{result="skipped"}`) >= 3
	})
	if n := strings.Count(a.logs.String(), `"msg":"started the app"`); n != 1 {
		t.Errorf("the failed first release was started %d times, want once", n)
	}
	for _, name := range []string{"app.bin", "app.cfg", "release/current.conf"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s present while the failed first release is skipped", name)
		}
	}
	d.releaseApp(t, "2", addr, nil)
	waitFor(t, "the good release", func() bool { return answers(addr, "2") })
}
