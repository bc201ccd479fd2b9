package restart

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// watchExits runs an ExitWatch on d with the switcher's seams until the
// test ends.
func watchExits(t *testing.T, d *appDir, sw *Switcher) <-chan Exit {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	exits := make(chan Exit, 8)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ExitWatch{Dir: d.dir, Reaped: sw.Reaped, Switching: sw.Switching, Switches: sw.Switches, Served: sw.Served}.Run(ctx, exits)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return exits
}

func nextExit(t *testing.T, exits <-chan Exit) Exit {
	t.Helper()
	select {
	case x := <-exits:
		return x
	case <-time.After(20 * time.Second):
		t.Fatal("no exit reported")
	}
	return Exit{}
}

// TestExitWatchKillAndCrash: an app the switcher started and that is
// killed with SIGKILL is reported with its signal; one that crashes by
// itself with its exit code and the end of app.log. A SIGHUP handover in
// between is no exit: the first exit reported is the successor's.
func TestExitWatchKillAndCrash(t *testing.T) {
	t.Parallel()
	d := newAppDir(t)
	bin1, cfg1 := d.release(t, "1", "1", nil)
	bin2, cfg2 := d.release(t, "2", "2", nil)
	sw := d.switcher(t, ModeHUP)
	sw.HealthTimeout = time.Minute // a loaded machine (load 50 on 2 cores seen) starts slowly
	sw.Reaped = &Reaped{}
	exits := watchExits(t, d, sw)
	ctx := context.Background()
	if err := sw.Switch(ctx, appdir.Target{Bin: bin1, Cfg: cfg1}); err != nil {
		t.Fatal(err)
	}
	if err := sw.Switch(ctx, appdir.Target{Bin: bin2, Cfg: cfg2}); err != nil {
		t.Fatal(err)
	}
	procs := d.procs(t)
	testkit.WaitFor(t, "the handover to end", func() bool { procs = d.procs(t); return len(procs) == 1 })
	p := procs[0]
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	x := nextExit(t, exits)
	if x.PID != p.PID || x.Exe != bin2 {
		t.Fatalf("first exit: got pid %d on %s, want pid %d on %s (the handover is no exit)", x.PID, x.Exe, p.PID, bin2)
	}
	// The successor is the old process's child, reparented at the
	// handover: its status is not the agent's to know.
	if x.Known || !strings.Contains(x.Status(), "unknown") {
		t.Errorf("status of the successor: got %q, want unknown", x.Status())
	}

	bin3, cfg3 := d.release(t, "1", "3", map[string]any{"crash_after": "1s"})
	if err := sw.Switch(ctx, appdir.Target{Bin: bin3, Cfg: cfg3}); err != nil {
		t.Fatal(err)
	}
	x = nextExit(t, exits)
	if !x.Known || x.Code != 1 || x.Signal != 0 || x.Exe != bin3 {
		t.Errorf("crash: got %q on %s, want exit code 1 on %s", x.Status(), x.Exe, bin3)
	}
	if !strings.Contains(x.LogTail, "crash_after") {
		t.Errorf("crash: log tail %q, want the app's last words", x.LogTail)
	}

	if err := sw.Switch(ctx, appdir.Target{Bin: bin1, Cfg: cfg1}); err != nil {
		t.Fatal(err)
	}
	p = d.procs(t)[0]
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	x = nextExit(t, exits)
	if !x.Known || x.Signal != syscall.SIGKILL || x.PID != p.PID || x.Status() != "signal 9 (killed)" {
		t.Errorf("kill -9 of an app the switcher started: got pid %d %q, want pid %d signal 9 (killed)", x.PID, x.Status(), p.PID)
	}
}

// TestExitWatchStrangerAndSwitch: a process the agent did not start (a
// person's, a supervisor's) is watched too; its exit is reported, status
// unknown. The stop of a --restart restart switch is the switch's, not an
// exit.
func TestExitWatchStrangerAndSwitch(t *testing.T) {
	t.Parallel()
	d := newAppDir(t)
	d.release(t, "1", "1", nil)
	// Release 2 listens elsewhere: the new process need not wait for the
	// stopped one's socket (seen once in 20 runs: "address already in
	// use" right after the stopped process was found gone).
	addr2 := freeAddr(t)
	bin2, cfg2 := d.release(t, "2", "2", map[string]any{"listen": addr2})
	if err := Swap(d.dir, appdir.CfgLink, "release/cfg.1"); err != nil {
		t.Fatal(err)
	}
	if err := Swap(d.dir, appdir.BinLink, "release/app.1"); err != nil {
		t.Fatal(err)
	}
	// A shell that leaves the app behind: its parent is gone, so nobody
	// here is told its status.
	sh := exec.Command("sh", "-c", "./app.bin -c app.cfg >/dev/null 2>&1 &")
	sh.Dir = d.dir
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("start a stranger: %v %s", err, out)
	}
	testkit.WaitFor(t, "the stranger to serve", func() bool { s, _ := d.get("/"); return strings.Contains(s, "1") })
	stranger := d.procs(t)[0]
	sw := d.switcher(t, ModeRestart)
	sw.HealthURL = "http://" + addr2 + "/healthz"
	sw.HealthTimeout = time.Minute
	sw.Reaped = &Reaped{}
	exits := watchExits(t, d, sw)
	// Switch to 2: the stranger is stopped and 2 started; no exit is
	// reported for the stop. (One switch only: between the stop and the
	// start, the port is free for any other process of the machine.)
	testkit.WaitFor(t, "the watch to hold the stranger", func() bool { return testkit.HoldsPidfd(os.Getpid(), stranger.PID) })
	if err := sw.Switch(context.Background(), appdir.Target{Bin: bin2, Cfg: cfg2}); err != nil {
		t.Fatal(err)
	}
	select {
	case x := <-exits:
		t.Fatalf("a switch's stop reported as an app exit: pid %d %s", x.PID, x.Status())
	default:
	}
	if d.procs(t)[0].PID == stranger.PID {
		t.Fatal("the stranger still runs after the switches")
	}

	// A stranger again: started outside the agent, killed by a person.
	d.killAll(t)
	testkit.WaitFor(t, "no app", func() bool { return len(d.procs(t)) == 0 })
	_ = nextExit(t, exits) // the kill of the switcher's app
	sh = exec.Command("sh", "-c", "./app.bin -c app.cfg >/dev/null 2>&1 &")
	sh.Dir = d.dir
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("start a stranger: %v %s", err, out)
	}
	testkit.WaitFor(t, "the stranger to serve", func() bool {
		s, _ := (&appDir{addr: addr2}).get("/")
		return strings.Contains(s, "release 2")
	})
	stranger = d.procs(t)[0]
	testkit.WaitFor(t, "the watch to hold the stranger", func() bool { return testkit.HoldsPidfd(os.Getpid(), stranger.PID) })
	if err := syscall.Kill(stranger.PID, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	x := nextExit(t, exits)
	if x.PID != stranger.PID || x.Known {
		t.Errorf("exit of a stranger: got pid %d %q, want pid %d, status unknown", x.PID, x.Status(), stranger.PID)
	}
}
