package restart

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// TestPIDFileFollowsHandovers: app.pid, written when the switcher started
// the app, names the serving process after a hup switch (real example app,
// real SIGHUP, tableflip handover) and after a handover nobody asked the
// switcher for (a SIGHUP by hand), once the switcher next looks; a
// directory without app.pid (the app has a supervisor of its own) gets
// none.
func TestPIDFileFollowsHandovers(t *testing.T) {
	t.Parallel()
	d := newAppDir(t)
	bin1, cfg1 := d.release(t, "1", "1", nil)
	bin2, cfg2 := d.release(t, "2", "2", nil)
	sw := d.switcher(t, ModeHUP)
	ctx := context.Background()
	pidFile := filepath.Join(d.dir, PIDFile)
	named := func() int {
		data, _ := os.ReadFile(pidFile)
		n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		return n
	}
	if err := sw.Switch(ctx, appdir.Target{Bin: bin1, Cfg: cfg1}); err != nil {
		t.Fatal(err)
	}
	first := d.procs(t)[0].PID
	if named() != first {
		t.Fatalf("app.pid names %d after the start, want %d", named(), first)
	}
	if err := sw.Switch(ctx, appdir.Target{Bin: bin2, Cfg: cfg2}); err != nil {
		t.Fatal(err)
	}
	serving := d.procs(t)[0]
	if serving.PID == first || serving.Exe != bin2 {
		t.Fatalf("after the hup switch %+v serves, want a new process on %s", serving, bin2)
	}
	if named() != serving.PID {
		t.Errorf("after the hup switch app.pid names %d, want the serving %d", named(), serving.PID)
	}

	// A handover by hand: the switcher sees it when it next looks.
	syscall.Kill(serving.PID, syscall.SIGHUP)
	testkit.WaitFor(t, "a handover by hand", func() bool {
		p := d.procs(t)
		return len(p) == 1 && p[0].PID != serving.PID
	})
	if pid, ok := sw.Running(bin2); !ok || named() != pid {
		t.Errorf("after a handover by hand app.pid names %d, want the serving %d", named(), pid)
	}

	// No app.pid: the app is someone else's; none is written.
	os.Remove(pidFile)
	now := d.procs(t)[0].PID
	syscall.Kill(now, syscall.SIGHUP)
	testkit.WaitFor(t, "a second handover by hand", func() bool {
		p := d.procs(t)
		return len(p) == 1 && p[0].PID != now
	})
	sw.Running(bin2)
	if _, err := os.Stat(pidFile); err == nil {
		t.Errorf("app.pid written in a directory that had none")
	}
}
