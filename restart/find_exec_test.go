package restart

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// TestFindsAppThroughExec: an app that replaces itself in place, 100
// times, with syscall.Exec from a thread other than its leader (a
// launcher exec'ing the server, or a Go app re-exec'ing itself) is found
// by the Finder at every look until it is done. /proc reads its leader as
// a zombie for a moment at each exec: the Finder once took that for the
// end, and a switch or the exit watch then saw no app where one ran.
func TestFindsAppThroughExec(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(appdir.Release(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(appdir.Release(dir), "app.1")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	child, err := testkit.StartExecChain(bin, 100)
	if err != nil {
		t.Fatal(err)
	}
	cmd, last := child.Cmd, child.Last
	t.Cleanup(func() { child.End(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	f := Finder{Dir: dir}
	looks, missed := 0, 0
	for done := false; !done; {
		select {
		case <-last:
			done = true
		default:
		}
		looks++
		if _, ok := f.inspect(cmd.Process.Pid); !ok && !done {
			missed++
		}
	}
	if missed > 0 {
		t.Errorf("the app (pid %d) was not found at %d of %d looks while it exec'd itself", cmd.Process.Pid, missed, looks)
	}
	t.Logf("%d looks", looks)
}
