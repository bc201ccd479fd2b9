package restart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/procfs"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// switchedTo1 is an app dir running release 1, with release 2 (of cfg2)
// installed, and a switcher without health checks of its own yet.
func switchedTo1(t *testing.T, cfg2 map[string]any) (d *appDir, sw *Switcher, bin2, cfg2File string) {
	t.Helper()
	d = newAppDir(t)
	bin1, cfg1 := d.release(t, "1", "1", nil)
	bin2, cfg2File = d.release(t, "2", "2", cfg2)
	sw = d.switcher(t, ModeHUP)
	if err := sw.Switch(context.Background(), appdir.Target{Bin: bin1, Cfg: cfg1}); err != nil {
		t.Fatal(err)
	}
	return d, sw, bin2, cfg2File
}

// wantRolledBack checks that err is an UnhealthyError mentioning want and
// that release 1 is linked and running again.
func wantRolledBack(t *testing.T, d *appDir, err error, want string) *UnhealthyError {
	t.Helper()
	var uerr *UnhealthyError
	if !errors.As(err, &uerr) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an UnhealthyError mentioning %q", err, want)
	}
	if got, _ := os.Readlink(filepath.Join(d.dir, "app.bin")); got != "release/app.1" {
		t.Errorf("app.bin: got -> %s, want -> release/app.1", got)
	}
	testkit.WaitFor(t, "release 1 to answer", func() bool {
		got, _ := d.get("/")
		return strings.HasPrefix(got, "exampleapp 1:")
	})
	return uerr
}

// TestHealthTCP: the app's own listener passes; a closed port fails and
// the release is switched back (the check fails for release 1 too, which
// the error says).
func TestHealthTCP(t *testing.T) {
	t.Parallel()
	t.Run("listening", func(t *testing.T) {
		t.Parallel()
		d, sw, bin2, cfg2 := switchedTo1(t, nil)
		sw.HealthURL, sw.HealthTCP = "", d.addr
		if err := sw.Switch(context.Background(), appdir.Target{Bin: bin2, Cfg: cfg2}); err != nil {
			t.Fatalf("got %v, want the switch to pass", err)
		}
	})
	t.Run("closed port", func(t *testing.T) {
		t.Parallel()
		d, sw, bin2, cfg2 := switchedTo1(t, nil)
		sw.HealthTCP, sw.HealthTimeout = freeAddr(t), 2*time.Second
		uerr := wantRolledBack(t, d, sw.Switch(context.Background(), appdir.Target{Bin: bin2, Cfg: cfg2}), "health check tcp "+sw.HealthTCP)
		if uerr.RollbackErr == nil {
			t.Errorf("got no rollback error, want the closed port reported for release 1 too")
		}
	})
}

// script writes an executable shell script into dir and returns its path
// relative to dir, as --health-cmd would name it.
func script(t *testing.T, dir, body string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "check.sh"), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return "./check.sh"
}

// pidsDead waits until every pid listed in file has exited.
func pidsDead(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(data)) {
		pid, _ := strconv.Atoi(f)
		testkit.WaitFor(t, "pid "+f+" of the health command to be killed", func() bool { return !procfs.Alive(pid) })
	}
}

// TestHealthCmd runs real scripts as --health-cmd. Those meant to fail do
// so only for release 2, as a real check might: switching back passes.
func TestHealthCmd(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	tests := []struct {
		name string
		body string // %T is a file of this test case
		want string // "" passes; otherwise quoted in the UnhealthyError
		then func(t *testing.T, file string, took time.Duration)
	}{
		{name: "exits 0", body: "exit 0\n"},
		{name: "exits 1", want: "the database says no",
			body: "echo starting\necho the database says no >&2\n[ \"$RECONCILER_TO_VERSION\" = 2 ] && exit 1\nexit 0\n"},
		{name: "hangs", want: "killed with its process group",
			body: "echo $$ >> %T\nsleep 300 &\necho $! >> %T\n[ \"$RECONCILER_TO_VERSION\" = 2 ] && wait\nexit 0\n",
			then: func(t *testing.T, file string, _ time.Duration) { pidsDead(t, file) }},
		{name: "forks and exits 0",
			body: "sleep 300 &\necho $! > %T\nexit 0\n",
			then: func(t *testing.T, file string, took time.Duration) {
				if took > 4*time.Second {
					t.Errorf("the switch took %s, want the check not to wait for the child holding its output", took)
				}
				pidsDead(t, file)
			}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(tmp, strconv.Itoa(i))
			d, sw, bin2, cfg2 := switchedTo1(t, nil)
			sw.HealthCmd = script(t, d.dir, strings.ReplaceAll(tt.body, "%T", file)) + " --an-arg"
			sw.HealthTimeout = 6 * time.Second // room on a saturated machine
			start := time.Now()
			err := sw.Switch(context.Background(), appdir.Target{Bin: bin2, Cfg: cfg2})
			took := time.Since(start)
			if tt.want == "" && err != nil {
				t.Fatalf("got %v, want the switch to pass", err)
			}
			if tt.want != "" {
				if uerr := wantRolledBack(t, d, err, tt.want); uerr.RollbackErr != nil {
					t.Errorf("switch back failed: %v", uerr.RollbackErr)
				}
			}
			if tt.then != nil {
				tt.then(t, file, took)
			}
		})
	}
}

// TestHealthCmdEnv: the command gets the switch in RECONCILER_* variables,
// the revision the caller passed included.
func TestHealthCmdEnv(t *testing.T) {
	t.Parallel()
	d, sw, bin2, cfg2 := switchedTo1(t, nil)
	envFile := filepath.Join(t.TempDir(), "env")
	sw.HealthCmd = script(t, d.dir, "env > "+envFile+"\npwd >> "+envFile+"\n")
	rev := "0123456789abcdef0123456789abcdef01234567"
	if err := sw.Switch(context.Background(), appdir.Target{Bin: bin2, Cfg: cfg2, Revision: rev}); err != nil {
		t.Fatal(err)
	}
	wantLines(t, envFile, "RECONCILER_DIR="+d.dir, "RECONCILER_FROM_VERSION=1", "RECONCILER_TO_VERSION=2",
		"RECONCILER_REVISION="+rev, "RECONCILER_BIN="+bin2, "RECONCILER_CFG="+cfg2,
		"PATH="+os.Getenv("PATH"), d.dir)
}

// TestHealthBake: a release that passes its health check and crashes two
// seconds later is switched back during the bake; a good one bakes.
func TestHealthBake(t *testing.T) {
	t.Parallel()
	t.Run("crashes", func(t *testing.T) {
		t.Parallel()
		d, sw, bin2, cfg2 := switchedTo1(t, map[string]any{"crash_after": "2s"})
		sw.HealthBake = 6 * time.Second
		start := time.Now()
		uerr := wantRolledBack(t, d, sw.Switch(context.Background(), appdir.Target{Bin: bin2, Cfg: cfg2}), "during --health-bake 6s")
		if uerr.RollbackErr != nil {
			t.Errorf("switch back failed: %v", uerr.RollbackErr)
		}
		if !strings.Contains(uerr.Error(), "crash_after") {
			t.Errorf("got %v, want the app's last words quoted", uerr)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %s, want the crash seen at once, not at the end of the bake", took)
		}
	})
	t.Run("good", func(t *testing.T) {
		t.Parallel()
		d, sw, bin2, cfg2 := switchedTo1(t, nil)
		sw.HealthBake = 1500 * time.Millisecond
		start := time.Now()
		if err := sw.Switch(context.Background(), appdir.Target{Bin: bin2, Cfg: cfg2}); err != nil {
			t.Fatalf("got %v, want the release baked", err)
		}
		if took := time.Since(start); took < sw.HealthBake {
			t.Errorf("took %s, want at least the bake %s", took, sw.HealthBake)
		}
		if p := d.procs(t); len(p) == 0 || p[0].Exe != bin2 {
			t.Errorf("got processes %+v, want one on %s", p, bin2)
		}
	})
}
