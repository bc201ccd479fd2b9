package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

const okPerSwitch = 50 // successful requests before each switch and after the last

// switches per run, alternating versions 2 and 1: 6, or EXAMPLEAPP_SWITCHES
// for a longer measurement.
func switches(t *testing.T) int {
	n, err := strconv.Atoi(os.Getenv("EXAMPLEAPP_SWITCHES"))
	if err != nil || n < 1 {
		return 6
	}
	t.Logf("EXAMPLEAPP_SWITCHES=%d", n)
	return n
}

// switchUnderLoad starts prog in a new app dir, puts it under load and
// switches releases, each switch under load; it returns what the load saw.
func switchUnderLoad(t *testing.T, prog string, keepAlive bool, switches int) loadResult {
	d := newAppDir(t, prog)
	d.start(t)
	l := startLoad(t, d.addr, keepAlive)
	for i := range switches {
		l.waitOK(t, okPerSwitch)
		d.switchTo(t, strconv.Itoa(2-i%2))
	}
	l.waitOK(t, okPerSwitch)
	return l.stop()
}

var connModes = []struct {
	name      string
	keepAlive bool
}{
	{"new connection per request", false},
	{"keep-alive", true},
}

func TestSwitchUnderLoadFailsNoRequest(t *testing.T) {
	for _, m := range connModes {
		t.Run(m.name, func(t *testing.T) {
			n := switches(t)
			res := switchUnderLoad(t, "app", m.keepAlive, n)
			t.Logf("%d switches: %v", n, res)
			if res.failed != 0 {
				t.Errorf("failed requests: got %d, want 0; first errors: %q", res.failed, res.errs)
			}
			if res.retried != 0 {
				t.Errorf("requests the client had to retry: got %d, want 0", res.retried)
			}
			if min := int64(n * okPerSwitch); res.ok < min || res.versions["1"] == 0 || res.versions["2"] == 0 {
				t.Errorf("successful requests: got %d (%v), want at least %d, from both versions", res.ok, res.versions, min)
			}
		})
	}
}

func TestFailedUpgradeKeepsOldProcessServing(t *testing.T) {
	d := newAppDir(t, "app")
	d.writeCfg(t, "release/cfg.bad", map[string]any{"fail_start": true})
	app2, err := os.ReadFile(filepath.Join(d.dir, "release/app.2"))
	if err != nil {
		t.Fatal(err)
	}
	d.writeFile(t, "release/app.noexec", app2, 0o644)
	d.writeFile(t, "release/app.garbage", []byte("not a program\n"), 0o755)
	d.start(t)
	pid := d.pid()

	tests := []struct {
		name, bin, cfg, why string
	}{
		{"release exits at start", "release/app.2", "release/cfg.bad", "exit status 1"},
		{"binary not executable", "release/app.noexec", "release/cfg.2", "permission denied"},
		{"binary not a program", "release/app.garbage", "release/cfg.2", "exec format error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.point(t, "app.bin", tt.bin)
			d.point(t, "app.cfg", tt.cfg)
			t.Cleanup(func() {
				d.point(t, "app.bin", "release/app.1")
				d.point(t, "app.cfg", "release/cfg.1")
			})
			hup(t, pid)
			testkit.WaitForWithin(t, 10*time.Second, "the failed upgrade to be logged", func() bool {
				return d.logHas("pid="+strconv.Itoa(pid), "upgrade failed, still serving", tt.why)
			})
			if got := d.pid(); got != pid || !alive(pid) {
				t.Errorf("after the failed upgrade: app.pid %d (alive %v), want %d alive", got, alive(pid), pid)
			}
			if !d.servesVersion("1") {
				t.Errorf("after the failed upgrade: want version 1 answering")
			}
		})
	}
	// The failures did not wedge the upgrader: a good release still goes in.
	d.switchTo(t, "2")
}

// TestUpgradeWhileDraining: an in-flight request finishes on the old
// process across the switch; a SIGHUP to the new process while the old one
// still drains waits for it to exit, and then upgrades.
func TestUpgradeWhileDraining(t *testing.T) {
	d := newAppDir(t, "app")
	d.start(t)
	first := d.pid()
	resp, err := probe.Get("http://" + d.addr + "/slow?d=3s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("X-Version"); got != "1" {
		t.Fatalf("slow request served by version %q, want 1", got)
	}

	d.point(t, "app.bin", "release/app.2")
	d.point(t, "app.cfg", "release/cfg.2")
	hup(t, first)
	testkit.WaitForWithin(t, 10*time.Second, "a new pid in app.pid", func() bool { return d.pid() != first })
	testkit.WaitForWithin(t, 10*time.Second, "version 2 to answer", func() bool { return d.servesVersion("2") })
	second := d.pid()
	hup(t, second)
	testkit.WaitForWithin(t, 10*time.Second, "the wait to be logged", func() bool {
		return d.logHas("pid="+strconv.Itoa(second), "upgrade waits for the previous process to exit")
	})
	if got := d.pid(); got != second || !alive(first) || !d.servesVersion("2") {
		t.Errorf("while the first process drains: app.pid %d, first alive %v; want %d serving version 2, first alive", got, alive(first), second)
	}

	body, err := io.ReadAll(resp.Body)
	if err != nil || !strings.HasPrefix(string(body), "exampleapp 1: slept 3s") {
		t.Errorf("in-flight request across the switch: got %q, %v; want the whole answer of version 1", body, err)
	}
	testkit.WaitForWithin(t, 10*time.Second, "the first process to exit", func() bool { return !alive(first) })
	testkit.WaitForWithin(t, 10*time.Second, "the deferred upgrade", func() bool { p := d.pid(); return p != second && p != 0 })
	testkit.WaitForWithin(t, 10*time.Second, "the second process to exit", func() bool { return !alive(second) })
	if !d.servesVersion("2") {
		t.Errorf("after the deferred upgrade: want version 2 answering")
	}
	if d.logHas("upgrade failed") {
		t.Errorf("log: got an upgrade failure, want none")
	}
}

func TestStopRemovesPIDFile(t *testing.T) {
	d := newAppDir(t, "app")
	p := d.start(t)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the app did not exit within 10s of SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code after SIGTERM: got %d, want 0", code)
	}
	if _, err := os.Stat(filepath.Join(d.dir, "app.pid")); !os.IsNotExist(err) {
		t.Errorf("app.pid after a stop: got %v, want it removed", err)
	}
	if _, err := http.Get("http://" + d.addr + "/"); err == nil {
		t.Errorf("GET after a stop: got an answer, want connection refused")
	}
}
