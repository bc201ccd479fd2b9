package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
	"github.com/reconciler-dev/reconciler/restart/loadgen"

	"github.com/reconciler-dev/reconciler/internal/procfs"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

var (
	appBuildMu sync.Mutex
	appBuilds  = map[string][]byte{}
	appBuildTo string
)

// exampleApp returns the example app built with version v (once per test
// binary run; the Go build cache makes the second version a relink). The
// builds live in one temporary directory for the whole run, which TestMain
// removes (removeAppBuilds): about 10 MB per version.
func exampleApp(t *testing.T, v string) []byte {
	t.Helper()
	appBuildMu.Lock()
	defer appBuildMu.Unlock()
	if b, ok := appBuilds[v]; ok {
		return b
	}
	if appBuildTo == "" {
		dir, err := os.MkdirTemp("", "reconciler-app-")
		if err != nil {
			t.Fatal(err)
		}
		appBuildTo = dir
	}
	out := filepath.Join(appBuildTo, "app-"+v)
	cmd := exec.Command("go", "build", "-o", out, "-ldflags", "-X main.version="+v, "../exampleapp")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build example app: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	appBuilds[v] = b
	return b
}

// removeAppBuilds removes what exampleApp built; TestMain calls it after
// every test has run.
func removeAppBuilds() {
	appBuildMu.Lock()
	defer appBuildMu.Unlock()
	if appBuildTo != "" {
		_ = os.RemoveAll(appBuildTo)
		appBuildTo = ""
	}
}

func freeAddr(t *testing.T) string {
	addr, err := testkit.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// releaseApp publishes the example app as version v with a config from the
// repo and commits the bump.
func (d *deployRepo) releaseApp(t *testing.T, v, addr string, extra map[string]any) string {
	url, digest := d.art.put("/app-"+v, exampleApp(t, strings.SplitN(v, "-", 2)[0]))
	cfg := map[string]any{"listen": addr, "message": "release " + v}
	for k, val := range extra {
		cfg[k] = val
	}
	js, _ := json.MarshalIndent(cfg, "", "  ")
	d.WriteFile("web/cfg-"+v+".json", append(js, '\n'))
	d.WriteFile("web/current.conf", []byte(fmt.Sprintf(
		`{"version": %q, "bin": {"url": %q, "sha256": %q}, "cfg": {"path": "web/cfg-%s.json"}}`, v, url, digest, v)))
	return d.Commit("app " + v)
}

func killApps(t *testing.T, dir string) {
	t.Cleanup(func() {
		procs, _ := restart.Finder{Dir: dir}.Find()
		for _, p := range procs {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	})
}

// TestSyncSwitchesTheApp is the whole story with a real app: sync starts
// it, a bump switches it under load with no failed request, a release that
// does not come up healthy is switched back and recorded as failed (and not
// retried), and the next good commit deploys.
func TestSyncSwitchesTheApp(t *testing.T) {
	t.Parallel()
	d := newDeployRepo(t)
	addr := freeAddr(t)
	dir := t.TempDir()
	killApps(t, dir)
	args := func() []string {
		return []string{"sync", "--repo", d.URL(), "--path", "web/current.conf", "--dir", dir,
			"--health-url", "http://" + addr + "/healthz", "--health-timeout", "5s", "--log-format", "json"}
	}
	d.releaseApp(t, "1", addr, nil)
	if out, errOut, code := runCLI(t, args()...); code != 0 {
		t.Fatalf("first sync: exit %d\n%s%s", code, out, errOut)
	}
	if got := testkit.Answer(addr); !strings.HasPrefix(got, "exampleapp 1:") {
		t.Fatalf("after the first sync the app answers %q, want version 1", got)
	}
	out, _, _ := runCLI(t, "status", "--dir", dir)
	if !strings.Contains(out, "runs the current binary") {
		t.Errorf("status: got\n%s\nwant the app's pid running the current binary", out)
	}

	load := loadgen.Start(t.Context(), loadgen.Options{URL: "http://" + addr + "/", Workers: 3})
	d.releaseApp(t, "2", addr, nil)
	if out, errOut, code := runCLI(t, args()...); code != 0 {
		t.Fatalf("sync of 2: exit %d\n%s%s", code, out, errOut)
	}
	res := load.Stop()
	t.Logf("switch 1 -> 2 under load: %s", res)
	if res.Failed != 0 || res.OK < 50 {
		t.Errorf("load across the switch: %s (%v), want 0 failed of a real load", res, res.Errors)
	}
	if got := testkit.Answer(addr); !strings.HasPrefix(got, "exampleapp 2:") {
		t.Fatalf("after sync of 2 the app answers %q, want version 2", got)
	}

	bad := d.releaseApp(t, "2-bad", addr, map[string]any{"healthy": false})
	_, errOut, code := runCLI(t, args()...)
	if code != 1 || !strings.Contains(errOut, "switched back") {
		t.Fatalf("sync of an unhealthy release: got exit %d %q, want an error saying it was switched back", code, errOut)
	}
	assertSwitchedBack(t, dir, addr, "2", "exampleapp 2: release 2\n", bad)
	pid := readPID(t, dir)
	_, errOut, code = runCLI(t, args()...)
	if code != 1 || !strings.Contains(errOut, "failed before") {
		t.Errorf("sync of the failed revision again: got exit %d %q, want it skipped", code, errOut)
	}
	if readPID(t, dir) != pid {
		t.Error("the app was signalled again for a failed revision")
	}

	d.releaseApp(t, "3", addr, nil)
	if out, errOut, code := runCLI(t, args()...); code != 0 {
		t.Fatalf("sync of 3 after a failure: exit %d\n%s%s", code, out, errOut)
	}
	if got := testkit.Answer(addr); !strings.HasPrefix(got, "exampleapp 3:") {
		t.Errorf("after sync of 3 the app answers %q, want version 3", got)
	}
}

func readPID(t *testing.T, dir string) int {
	procs, err := restart.Finder{Dir: dir}.Find()
	if err != nil || len(procs) == 0 {
		t.Fatalf("no app process in %s (%v)", dir, err)
	}
	return procs[0].PID
}

func readPIDIfAny(dir string) int {
	procs, _ := restart.Finder{Dir: dir}.Find()
	for _, p := range procs {
		if procfs.Alive(p.PID) {
			return p.PID
		}
	}
	return 0
}

// assertSwitchedBack checks a release that did not come up: current.conf
// is back on version v, the app answers starting with want, and revision
// bad is recorded failed.
func assertSwitchedBack(t *testing.T, dir, addr, v, want, bad string) {
	t.Helper()
	if got := readConf(t, dir)["version"]; got != v {
		t.Errorf("current.conf after the switch back: got version %q, want %s", got, v)
	}
	if got := testkit.Answer(addr); !strings.HasPrefix(got+"\n", want) {
		t.Errorf("after the switch back the app answers %q, want %q", got, want)
	}
	layout, _ := reconcile.NewLayout(dir)
	st, _ := layout.LoadState()
	if _, failed := st.IsFailed(bad); !failed {
		t.Errorf("state: %s not recorded as failed: %+v", bad[:12], st.Failed)
	}
}
