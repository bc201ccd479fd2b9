package restart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// Watcher pokes a channel when release/current.conf may have changed.
//
// It watches the release/ DIRECTORY, not the file: an atomic replace (temp
// file + rename, `sed -i`, `mv`, vim) kills a watch on the file itself after
// one event. Events are filtered by name and debounced, so an in-place write
// in several chunks is read once it is whole; the reader must still validate
// the content and tolerate the file being briefly missing. An overflow of
// the kernel queue, where events are lost, pokes too. Pokes go to a
// buffered channel without blocking, so bursts coalesce into one.
type Watcher struct {
	Dir      string        // the app directory; Dir/release is watched
	Name     string        // the file to watch in release/; default current.conf
	Debounce time.Duration // default 100ms
}

// Run watches until ctx ends. It pokes once at the start, so the owner
// reconciles what happened while nobody watched.
func (w Watcher) Run(ctx context.Context, poke chan<- struct{}) error {
	dir := appdir.Release(w.Dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	defer fw.Close()
	if err := fw.Add(dir); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	name, debounce := w.Name, w.Debounce
	if name == "" {
		name = appdir.CurrentConf
	}
	if debounce <= 0 {
		debounce = 100 * time.Millisecond
	}
	timer := time.NewTimer(0) // the first poke
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return errors.New("watch: fsnotify closed its event channel")
			}
			if filepath.Base(ev.Name) == name {
				timer.Reset(debounce)
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return errors.New("watch: fsnotify closed its error channel")
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				timer.Reset(debounce) // events were lost: look anyway
			}
		case <-timer.C:
			select {
			case poke <- struct{}{}:
			default: // a poke is already pending
			}
		}
	}
}
