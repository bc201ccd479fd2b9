package dirwatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watcher follows one directory. Set Dir; the rest is optional.
type Watcher struct {
	Dir string
	// Match says which events concern the owner; nil: all of them.
	Match func(fsnotify.Event) bool
	// Debounce delays the poke until events stop for this long (so a file
	// written in several chunks is read once it is whole); 0: at once.
	Debounce time.Duration
	// Resync pokes on this period (if Pending is nil or returns true); 0:
	// only events, errors and a returning directory poke.
	Resync  time.Duration
	Pending func() bool
	// Initial pokes once the watch is in place, so the owner looks at what
	// happened while nobody watched.
	Initial bool
	Log     *slog.Logger
}

// ReaddEvery is how often a removed or replaced directory is looked for.
const ReaddEvery = 250 * time.Millisecond

// Run watches until ctx ends. It fails at once if Dir cannot be watched.
func (w Watcher) Run(ctx context.Context, poke func()) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.Dir, err)
	}
	defer fw.Close()
	if err := fw.Add(w.Dir); err != nil {
		return fmt.Errorf("watch %s: %w", w.Dir, err)
	}
	l := &loop{w: w, add: fw.Add, poke: poke}
	return l.run(ctx, fw.Events, fw.Errors)
}

// loop is the state of one Run, owned by its goroutine. add is fw.Add;
// the channels are fsnotify's (tests hand in their own).
type loop struct {
	w        Watcher
	add      func(string) error
	poke     func()
	debounce *time.Timer
	readd    *time.Ticker
}

func (l *loop) run(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error) error {
	l.debounce = time.NewTimer(time.Hour)
	l.debounce.Stop()
	defer l.debounce.Stop()
	l.readd = time.NewTicker(ReaddEvery)
	l.readd.Stop() // runs only while the directory is gone
	defer l.readd.Stop()
	var resync <-chan time.Time
	if l.w.Resync > 0 {
		t := time.NewTicker(l.w.Resync)
		defer t.Stop()
		resync = t.C
	}
	if l.w.Initial {
		l.poke()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return fmt.Errorf("watch %s: fsnotify closed its event channel", l.w.Dir)
			}
			l.event(ev)
		case err, ok := <-errs:
			if !ok {
				return fmt.Errorf("watch %s: fsnotify closed its error channel", l.w.Dir)
			}
			l.failed(err)
		case <-l.debounce.C:
			l.poke()
		case <-resync:
			if l.w.Pending == nil || l.w.Pending() {
				l.poke()
			}
		case <-l.readd.C:
			l.again()
		}
	}
}

func (l *loop) event(ev fsnotify.Event) {
	if filepath.Clean(ev.Name) == filepath.Clean(l.w.Dir) && ev.Has(fsnotify.Remove|fsnotify.Rename) {
		// fsnotify has dropped the watch (the kernel's is gone with the
		// directory, or follows it elsewhere): look for the directory.
		l.log().Warn("watched directory removed or replaced; watching it again once it is back", "dir", l.w.Dir, "op", ev.Op.String())
		l.readd.Reset(ReaddEvery)
		return
	}
	if l.w.Match == nil || l.w.Match(ev) {
		l.changed()
	}
}

// failed handles a watcher error: events may have been lost, so the owner
// looks at the whole directory.
func (l *loop) failed(err error) {
	msg := "watching a directory failed; looking at all of it"
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		msg = "watching a directory lost events (queue overflow); looking at all of it"
	}
	l.log().Warn(msg, "dir", l.w.Dir, "err", err)
	l.changed()
}

// again watches the directory again if it is back, and pokes.
func (l *loop) again() {
	if err := l.add(l.w.Dir); err != nil {
		return // not back yet
	}
	l.readd.Stop()
	l.log().Info("watching the directory again", "dir", l.w.Dir)
	l.changed()
}

func (l *loop) changed() {
	if l.w.Debounce <= 0 {
		l.poke()
		return
	}
	l.debounce.Reset(l.w.Debounce)
}

func (l *loop) log() *slog.Logger {
	if l.w.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return l.w.Log
}
