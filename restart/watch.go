package restart

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/dirwatch"
)

// Watcher pokes a channel when release/current.conf may have changed.
//
// It watches the release/ DIRECTORY, not the file: an atomic replace (temp
// file + rename, `sed -i`, `mv`, vim) kills a watch on the file itself after
// one event. Events are filtered by name and debounced, so an in-place write
// in several chunks is read once it is whole; the reader must still validate
// the content and tolerate the file being briefly missing. Lost events (an
// overflow), a watcher error and a release/ replaced are handled by the one
// directory watcher (internal/dirwatch): each pokes. Pokes go to a buffered
// channel without blocking, so bursts coalesce into one.
type Watcher struct {
	Dir      string        // the app directory; Dir/release is watched
	Name     string        // the file to watch in release/; default current.conf
	Debounce time.Duration // default 100ms
	Log      *slog.Logger  // the watcher's errors; nil: not logged
}

// Run watches until ctx ends. It pokes once at the start, so the owner
// reconciles what happened while nobody watched.
func (w Watcher) Run(ctx context.Context, poke chan<- struct{}) error {
	dir := appdir.Release(w.Dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	name, debounce := w.Name, w.Debounce
	if name == "" {
		name = appdir.CurrentConf
	}
	if debounce <= 0 {
		debounce = 100 * time.Millisecond
	}
	dw := dirwatch.Watcher{
		Dir:      dir,
		Match:    func(ev fsnotify.Event) bool { return filepath.Base(ev.Name) == name },
		Debounce: debounce,
		Initial:  true,
		Log:      w.Log,
	}
	return dw.Run(ctx, func() {
		select {
		case poke <- struct{}{}:
		default: // a poke is already pending
		}
	})
}
