package restart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// TestJudgeFinishesASwitch: Judge takes a switch another run began where
// it finds it. Links and process already on 2: nothing is signalled, the
// release is checked and baked; links moved and the process still on 1:
// the process is got onto 2. A release that dies within the bake is
// switched back to from, which serves again.
func TestJudgeFinishesASwitch(t *testing.T) {
	tests := []struct {
		name     string
		moved    bool // the process was got onto 2 before Judge
		crash    bool // 2 dies within the bake
		wantHUPs int
	}{
		{"links and process moved, good", true, false, 0},
		{"links moved, process not, good", false, false, 1},
		{"links and process moved, dies in the bake", true, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newAppDir(t)
			bin1, cfg1 := d.release(t, "1", "1", nil)
			var extra map[string]any
			if tt.crash {
				extra = map[string]any{"crash_after": "3s"}
			}
			bin2, cfg2 := d.release(t, "2", "2", extra)
			sw := d.switcher(t, ModeHUP)
			ctx := context.Background()
			if err := sw.Switch(ctx, appdir.Target{Bin: bin1, Cfg: cfg1}); err != nil {
				t.Fatal(err)
			}
			if tt.moved {
				if err := sw.Switch(ctx, appdir.Target{Bin: bin2, Cfg: cfg2}); err != nil {
					t.Fatal(err)
				}
			} else if err := sw.point(bin2, cfg2); err != nil {
				t.Fatal(err)
			}
			pid := d.procs(t)[0].PID
			hups := 0
			sw.Signal = func(pid int, sig syscall.Signal) error {
				if sig == syscall.SIGHUP {
					hups++
				}
				return syscall.Kill(pid, sig)
			}
			sw.HealthBake = 4 * time.Second
			err := sw.Judge(ctx, appdir.Target{Bin: bin2, Cfg: cfg2}, appdir.Target{Bin: bin1, Cfg: cfg1})
			if hups != tt.wantHUPs {
				t.Errorf("got %d SIGHUPs, want %d", hups, tt.wantHUPs)
			}
			if tt.crash {
				var uerr *UnhealthyError
				if !errors.As(err, &uerr) || uerr.RollbackErr != nil || !strings.Contains(err.Error(), "--health-bake") {
					t.Fatalf("got %v, want an UnhealthyError of the bake, switched back", err)
				}
				if got, _ := os.Readlink(filepath.Join(d.dir, "app.bin")); got != "release/app.1" {
					t.Errorf("app.bin: got -> %s, want -> release/app.1", got)
				}
				testkit.WaitFor(t, "release 1 to answer", func() bool { got, _ := d.get("/"); return strings.HasPrefix(got, "exampleapp 1:") })
				return
			}
			if err != nil {
				t.Fatalf("got %v, want a good release", err)
			}
			if got, _ := d.get("/"); !strings.HasPrefix(got, "exampleapp 2:") {
				t.Errorf("app answers %q, want release 2", got)
			}
			if p := d.procs(t); tt.moved && p[0].PID != pid {
				t.Errorf("the process on 2 changed: got pid %d, want %d untouched", p[0].PID, pid)
			}
		})
	}
}

// TestSwitchStoppedAfterSIGHUP stops the switch (ctx) the moment the
// SIGHUP is sent: the links moved, so the switch waits for the new
// process before it returns the stop: links and process agree on 2.
func TestSwitchStoppedAfterSIGHUP(t *testing.T) {
	t.Parallel()
	d := newAppDir(t)
	bin1, cfg1 := d.release(t, "1", "1", nil)
	bin2, cfg2 := d.release(t, "2", "2", nil)
	sw := d.switcher(t, ModeHUP)
	if err := sw.Switch(context.Background(), appdir.Target{Bin: bin1, Cfg: cfg1}); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sw.Signal = func(pid int, sig syscall.Signal) error {
		if sig == syscall.SIGHUP {
			stop()
		}
		return syscall.Kill(pid, sig)
	}
	err := sw.Switch(ctx, appdir.Target{Bin: bin2, Cfg: cfg2})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the stop (or nil)", err)
	}
	if got, _ := os.Readlink(filepath.Join(d.dir, "app.bin")); got != "release/app.2" {
		t.Errorf("app.bin: got -> %s, want -> release/app.2", got)
	}
	if p := d.procs(t); len(p) == 0 || p[0].Exe != bin2 {
		t.Errorf("after the stop the app runs %+v while app.bin -> app.2: links and process disagree", p)
	}
}
