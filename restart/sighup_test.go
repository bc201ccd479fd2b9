package restart

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// TestHUPSwitchNamesAnAppThatRefusesSIGHUP: a real app (a shell, its
// binary a file of release/) that ignores SIGHUP, or blocks it, never hands
// over; the hup switch says so, with the advice to use --restart restart,
// at the SIGHUP sent again a second later, instead of waiting out the
// health timeout (20 s here: a deadline error would fail the test), and
// switches back.
func TestHUPSwitchNamesAnAppThatRefusesSIGHUP(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, tc := range []struct {
		name, exec, script, want string
	}{
		{"ignores", "./app.bin ./hold.sh", "trap '' HUP\nread x < ./hold.fifo\n", "ignores SIGHUP"},
		{"blocks", "env --block-signal=HUP ./app.bin ./hold.sh", "read x < ./hold.fifo\n", "blocks SIGHUP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.name == "blocks" && exec.Command("env", "--block-signal=HUP", "true").Run() != nil {
				t.Skip("needs GNU env with --block-signal (coreutils 8.31)")
			}
			d := newAppDir(t)
			data, err := os.ReadFile(sh)
			if err != nil {
				t.Fatal(err)
			}
			var bins []string
			for _, name := range []string{"app.1", "app.2"} {
				bin := filepath.Join(d.dir, "release", name)
				if err := os.WriteFile(bin, data, 0o755); err != nil {
					t.Fatal(err)
				}
				bins = append(bins, bin)
			}
			os.WriteFile(filepath.Join(d.dir, "hold.sh"), []byte(tc.script), 0o644)
			if err := syscall.Mkfifo(filepath.Join(d.dir, "hold.fifo"), 0o600); err != nil {
				t.Fatal(err)
			}
			sw := &Switcher{Dir: d.dir, Mode: ModeHUP, Exec: tc.exec, HealthTimeout: 20 * time.Second, Log: testLogger(t)}
			ctx := context.Background()
			if err := sw.Switch(ctx, appdir.Target{Bin: bins[0]}); err != nil {
				t.Fatal(err)
			}
			err = sw.Switch(ctx, appdir.Target{Bin: bins[1]})
			var uerr *UnhealthyError
			if !errors.As(err, &uerr) || !errors.Is(err, ErrHUPRefused) || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want an UnhealthyError wrapping ErrHUPRefused, not a deadline", err)
			}
			for _, s := range []string{tc.want, "--restart restart"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if uerr.RollbackErr != nil {
				t.Errorf("switch back failed: %v", uerr.RollbackErr)
			}
			if got, _ := os.Readlink(filepath.Join(d.dir, "app.bin")); got != "release/app.1" {
				t.Errorf("app.bin: got -> %s, want -> release/app.1", got)
			}
		})
	}
}
