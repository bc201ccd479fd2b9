package restart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/procfs"
	"github.com/reconciler-dev/reconciler/internal/testkit"
	"github.com/reconciler-dev/reconciler/restart/loadgen"
)

// TestSwitchUnderLoad switches between two releases several times while a
// load loop runs, once with a new connection per request and once with
// keep-alive: not one request may fail. A second app dir, whose process is
// also "./app.bin", must never be signalled.
func TestSwitchUnderLoad(t *testing.T) {
	for _, keepAlive := range []bool{false, true} {
		t.Run(fmt.Sprintf("keepalive=%v", keepAlive), func(t *testing.T) {
			other := newAppDir(t)
			obin, ocfg := other.release(t, "1", "1", nil)
			if err := other.switcher(t, ModeHUP).Switch(context.Background(), appdir.Target{Bin: obin, Cfg: ocfg}); err != nil {
				t.Fatal(err)
			}
			otherPID := other.procs(t)[0].PID

			d := newAppDir(t)
			bins, cfgs := map[string]string{}, map[string]string{}
			for _, v := range []string{"1", "2"} {
				bins[v], cfgs[v] = d.release(t, v, v, nil)
			}
			sw := d.switcher(t, ModeHUP)
			ctx := context.Background()
			if err := sw.Switch(ctx, appdir.Target{Bin: bins["1"], Cfg: cfgs["1"]}); err != nil {
				t.Fatalf("first start: %v", err)
			}
			load := loadgen.Start(ctx, loadgen.Options{URL: "http://" + d.addr + "/", KeepAlive: keepAlive, Workers: 4})
			const switches = 6
			for i := 0; i < switches; i++ {
				v := []string{"2", "1"}[i%2]
				if err := sw.Switch(ctx, appdir.Target{Bin: bins[v], Cfg: cfgs[v]}); err != nil {
					t.Fatalf("switch %d to %s: %v", i, v, err)
				}
				if got, _ := d.get("/"); !strings.HasPrefix(got, "exampleapp "+v+":") {
					t.Errorf("switch %d: app answers %q, want version %s", i, got, v)
				}
			}
			res := load.Stop()
			t.Logf("%d switches under load (keep-alive %v): %s, bodies %v", switches, keepAlive, res, res.Bodies)
			if res.Failed != 0 {
				t.Errorf("got %d failed requests (%v), want 0", res.Failed, res.Errors)
			}
			if res.OK < 200 {
				t.Errorf("got %d successful requests, want a real load (>= 200)", res.OK)
			}
			if got := other.procs(t); len(got) != 1 || got[0].PID != otherPID {
				t.Errorf("the other app dir's process changed: got %+v, want pid %d untouched", got, otherPID)
			}
		})
	}
}

// TestSwitchBackOnBadRelease: a release that exits at start and one that
// answers 500 on health are both switched back, once, without a retry loop.
func TestSwitchBackOnBadRelease(t *testing.T) {
	tests := []struct {
		name string
		cfg  map[string]any
		want string
	}{
		// The app's own last words, quoted from app.log: whether the new
		// process was seen before it died or only its reaping was.
		{"exits at start", map[string]any{"fail_start": true}, `config says "fail_start": true`},
		// The last answer is quoted; on a saturated machine (CI runs
		// packages side by side) it may be a check that timed out.
		{"unhealthy", map[string]any{"healthy": false}, "last answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newAppDir(t)
			bin1, cfg1 := d.release(t, "1", "1", nil)
			bin2, cfg2 := d.release(t, "2", "2", tt.cfg)
			sw := d.switcher(t, ModeHUP)
			sw.HealthTimeout = 5 * time.Second // a 500 seen within it even on a busy machine
			ctx := context.Background()
			if err := sw.Switch(ctx, appdir.Target{Bin: bin1, Cfg: cfg1}); err != nil {
				t.Fatal(err)
			}
			hups := 0
			sw.Signal = func(pid int, sig syscall.Signal) error {
				if sig == syscall.SIGHUP {
					hups++
				}
				return syscall.Kill(pid, sig)
			}
			err := sw.Switch(ctx, appdir.Target{Bin: bin2, Cfg: cfg2})
			var uerr *UnhealthyError
			if !errors.As(err, &uerr) || !uerr.Unhealthy() || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an UnhealthyError mentioning %q", err, tt.want)
			}
			if uerr.RollbackErr != nil {
				t.Errorf("switch back failed: %v", uerr.RollbackErr)
			}
			if got, _ := os.Readlink(filepath.Join(d.dir, "app.bin")); got != "release/app.1" {
				t.Errorf("app.bin: got -> %s, want -> release/app.1", got)
			}
			testkit.WaitFor(t, "release 1 to answer", func() bool {
				got, _ := d.get("/")
				return strings.HasPrefix(got, "exampleapp 1:")
			})
			if p := d.procs(t); len(p) == 0 || p[0].Exe != bin1 {
				t.Errorf("got processes %+v, want one on %s", p, bin1)
			}
			t.Logf("SIGHUPs sent: %d", hups)
			if hups > 3 {
				t.Errorf("sent %d SIGHUPs, want a failed upgrade seen at once (one SIGHUP to the release, one to switch back)", hups)
			}

		})
	}
}

// TestRestartMode stops the app with SIGTERM and starts the new release.
func TestRestartMode(t *testing.T) {
	t.Parallel()
	d := newAppDir(t)
	bin1, cfg1 := d.release(t, "1", "1", nil)
	bin2, cfg2 := d.release(t, "2", "2", nil)
	sw := d.switcher(t, ModeRestart)
	ctx := context.Background()
	if err := sw.Switch(ctx, appdir.Target{Bin: bin1, Cfg: cfg1}); err != nil {
		t.Fatal(err)
	}
	pid1 := d.procs(t)[0].PID
	if err := sw.Switch(ctx, appdir.Target{Bin: bin2, Cfg: cfg2}); err != nil {
		t.Fatal(err)
	}
	p := d.procs(t)
	if len(p) != 1 || p[0].Exe != bin2 || p[0].PID == pid1 {
		t.Errorf("got %+v, want one new process on %s", p, bin2)
	}
	if procfs.Alive(pid1) {
		t.Errorf("pid %d still alive after a restart", pid1)
	}
	if data, _ := os.ReadFile(filepath.Join(d.dir, PIDFile)); strings.TrimSpace(string(data)) != fmt.Sprint(p[0].PID) {
		t.Errorf("app.pid: got %q, want %d", data, p[0].PID)
	}
}

func TestCheckExecutable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good, err := os.ReadFile(builtApp["1"])
	if err != nil {
		t.Fatal(err)
	}
	otherArch := append([]byte(nil), good...)
	otherArch[18], otherArch[19] = 0xb7, 0x00 // e_machine = EM_AARCH64
	if string(otherArch[18:20]) == string(good[18:20]) {
		otherArch[18] = 0x3e // this machine is arm64: claim x86-64
	}
	files := map[string]struct {
		data []byte
		mode os.FileMode
		want string
	}{
		"good":      {good, 0o755, ""},
		"script":    {[]byte("#!/bin/sh\necho hi\n"), 0o755, ""},
		"no-exec":   {good, 0o644, "no exec bit"},
		"text":      {[]byte("hello"), 0o755, "not an ELF file"},
		"arch":      {otherArch, 0o755, "built for"},
		"bad-shell": {[]byte("#!/no/such/sh\n"), 0o755, "interpreter"},
	}
	for name, f := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
		err := CheckExecutable(p)
		switch {
		case f.want == "" && err != nil:
			t.Errorf("%s: got %v, want no error", name, err)
		case f.want != "" && (!errors.Is(err, ErrNotExecutable) || !strings.Contains(err.Error(), f.want)):
			t.Errorf("%s: got %v, want ErrNotExecutable mentioning %q", name, err, f.want)
		}
	}
}

// TestFinderOnlyThisDir: processes of another dir, and the pid file of a
// process that is not ours, are never taken for the app.
func TestFinderOnlyThisDir(t *testing.T) {
	t.Parallel()
	a, b := newAppDir(t), newAppDir(t)
	abin, acfg := a.release(t, "1", "1", nil)
	if err := a.switcher(t, ModeHUP).Switch(context.Background(), appdir.Target{Bin: abin, Cfg: acfg}); err != nil {
		t.Fatal(err)
	}
	// b's pid file names a's process (stale or hostile): not believed.
	apid := a.procs(t)[0].PID
	if err := os.WriteFile(filepath.Join(b.dir, PIDFile), []byte(fmt.Sprint(apid)), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := b.procs(t); len(p) != 0 {
		t.Errorf("dir b: got %+v, want no process", p)
	}
	// Our own pid file with a zombie-free live pid of another binary.
	if err := os.WriteFile(filepath.Join(a.dir, PIDFile), []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := a.procs(t); len(p) != 1 || p[0].PID != apid {
		t.Errorf("dir a: got %+v, want only pid %d", p, apid)
	}
}

// TestFindAfterHandoverListsAgain: a listing that found no process (a
// successor forked after /proc was read, its parent gone before it was
// inspected) is made again before a handover is judged to have left none;
// a second empty listing is believed.
func TestFindAfterHandoverListsAgain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var listings int
	f := Finder{
		Dir: dir,
		Processes: func() ([][2]int, error) {
			listings++
			if listings == 1 {
				return nil, nil // the torn listing: neither the old process nor its successor
			}
			return [][2]int{{os.Getpid(), 1}}, nil // the successor: a live pid
		},
		ReadExe: func(int) (string, error) { return filepath.Join(dir, "release", "app.2"), nil },
	}
	procs, err := f.findAfterHandover()
	if err != nil || len(procs) != 1 || procs[0].PID != os.Getpid() || listings != 2 {
		t.Fatalf("got %+v, %v after %d listings; want the successor after 2", procs, err, listings)
	}
	f.Processes = func() ([][2]int, error) { listings++; return nil, nil }
	listings = 0
	if procs, err := f.findAfterHandover(); err != nil || len(procs) != 0 || listings != 2 {
		t.Errorf("got %+v, %v after %d listings; want none after 2", procs, err, listings)
	}
}

// TestStartWhileBinaryBusy: a first start refused with "text file busy"
// (a descriptor that wrote the binary still open somewhere: here the
// test's own, closed after 200 ms) is tried again, and the app comes up.
func TestStartWhileBinaryBusy(t *testing.T) {
	t.Parallel()
	d := newAppDir(t)
	bin, cfg := d.release(t, "1", "1", nil)
	w, err := os.OpenFile(bin, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(bin, "-version").Run(); !errors.Is(err, syscall.ETXTBSY) {
		w.Close()
		t.Skipf("executing a binary open for writing: got %v, want ETXTBSY (not Linux?)", err)
	}
	t.Cleanup(func() { w.Close() })
	time.AfterFunc(200*time.Millisecond, func() { w.Close() })
	if err := d.switcher(t, ModeHUP).Switch(context.Background(), appdir.Target{Bin: bin, Cfg: cfg}); err != nil {
		t.Fatalf("start while the binary was busy for 200ms: %v", err)
	}
	if got, _ := d.get("/"); !strings.HasPrefix(got, "exampleapp 1:") {
		t.Errorf("app answers %q, want version 1", got)
	}
}
