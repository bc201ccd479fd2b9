package restart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// TestFirstReleaseThatFails: the first release of a directory that does
// not come up (a real example app that exits at start, or one that runs
// unhealthy) has nothing to switch back to: the error says so rather than
// "switched back to the previous release", no link is left on the broken
// release, and no process of it runs.
func TestFirstReleaseThatFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  map[string]any
	}{
		{"exits at start", map[string]any{"fail_start": true}},
		{"unhealthy", map[string]any{"healthy": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := newAppDir(t)
			bin, cfg := d.release(t, "1", "1", tc.cfg)
			sw := d.switcher(t, ModeHUP)
			sw.HealthTimeout = 3 * time.Second
			err := sw.Switch(context.Background(), appdir.Target{Bin: bin, Cfg: cfg})
			var uerr *UnhealthyError
			if !errors.As(err, &uerr) || !uerr.NoPrevious || uerr.RollbackErr != nil {
				t.Fatalf("got %v, want an UnhealthyError with NoPrevious and no rollback error", err)
			}
			if msg := err.Error(); strings.Contains(msg, "switched back to the previous release") || !strings.Contains(msg, "no previous release") {
				t.Errorf("error %q: want it to say there is no previous release", msg)
			}
			for _, l := range []string{appdir.BinLink, appdir.CfgLink} {
				if target, err := os.Readlink(filepath.Join(d.dir, l)); err == nil {
					t.Errorf("%s -> %s left on the failed first release", l, target)
				}
			}
			if p := d.procs(t); len(p) != 0 {
				t.Errorf("processes of the failed first release still run: %+v", p)
			}
		})
	}
}
