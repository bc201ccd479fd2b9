package restart

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// TestWatcherFollowsAReplacedRelease: a poke at the start, one for a new
// current.conf, and one for a current.conf in a release/ that replaced
// the watched one (its watch died with it).
func TestWatcherFollowsAReplacedRelease(t *testing.T) {
	dir := t.TempDir()
	pokes := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Watcher{Dir: dir}.Run(ctx, pokes) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	poked := func() bool {
		select {
		case <-pokes:
			return true
		default:
			return false
		}
	}
	testkit.WaitFor(t, "the poke at the start", poked)
	rel := appdir.Release(dir)
	put := func(in string) {
		t.Helper()
		tmp := filepath.Join(in, ".edit")
		if err := os.WriteFile(tmp, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(in, appdir.CurrentConf)); err != nil {
			t.Fatal(err)
		}
	}
	put(rel)
	testkit.WaitFor(t, "a poke for current.conf", poked)
	fresh := filepath.Join(dir, "release.new")
	if err := os.Mkdir(fresh, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(rel, filepath.Join(dir, "release.old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(fresh, rel); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "a poke for the new release/", poked)
	put(rel)
	testkit.WaitFor(t, "a poke for current.conf in the new release/", poked)
}
