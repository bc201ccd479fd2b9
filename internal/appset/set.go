package appset

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/reconciler-dev/reconciler/internal/dirwatch"
)

// Set runs one app per file of Dir. Set Dir and Serve, then call Run once.
type Set struct {
	Dir string
	// Serve runs the app of f until ctx ends, then returns nil. An error
	// means the app could not start, or stopped by itself: it is logged,
	// shown by Apps, and the app is tried again at the next rescan.
	Serve    func(ctx context.Context, f File) error
	Log      *slog.Logger
	Debounce time.Duration // default 100ms
	Rescan   time.Duration // default 30s

	mu    sync.Mutex // guards slots
	slots map[string]*slot
}

// App is one app as Apps reports it.
type App struct {
	Name string
	Path string
	Err  error // why it does not run; nil while it runs
}

// Apps returns the apps of the last scan, sorted by name.
func (s *Set) Apps() []App {
	s.mu.Lock()
	defer s.mu.Unlock()
	apps := make([]App, 0, len(s.slots))
	for _, sl := range s.slots {
		apps = append(apps, sl.app())
	}
	slices.SortFunc(apps, func(a, b App) int { return strings.Compare(a.Name, b.Name) })
	return apps
}

func (s *Set) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s.Log
}

// Run starts the apps of Dir, then follows the directory until ctx ends;
// then it stops every app and returns when they have stopped. A value on
// reload (SIGHUP) scans Dir at once and retries the apps that do not run.
// It fails only when Dir cannot be watched at the start.
func (s *Set) Run(ctx context.Context, reload <-chan os.Signal) error {
	s.mu.Lock()
	s.slots = map[string]*slot{}
	s.mu.Unlock()
	changed := make(chan struct{}, 1)
	werr := make(chan error, 1)
	wctx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // the slots end with ctx
	wg.Go(func() {
		werr <- s.watcher().Run(wctx, func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
	})
	defer stopWatch()
	if err := s.firstWatch(ctx, &wg, changed, werr); err != nil {
		return err
	}
	rescan := time.NewTicker(or(s.Rescan, 30*time.Second))
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-werr:
			return err
		case <-changed:
			s.sync(ctx, &wg, false)
		case <-rescan.C:
			s.sync(ctx, &wg, true)
		case <-reload:
			s.log().Info("reading the apps dir again", "dir", s.Dir)
			s.sync(ctx, &wg, true)
		}
	}
}

// watcher follows Dir with the one directory watcher: an app file's
// changes, lost events, a watcher error and Dir replaced each poke (the
// errors are logged). Its first poke says the watch is in place.
func (s *Set) watcher() dirwatch.Watcher {
	return dirwatch.Watcher{
		Dir:      s.Dir,
		Match:    func(ev fsnotify.Event) bool { _, app := AppName(filepath.Base(ev.Name)); return app },
		Debounce: or(s.Debounce, 100*time.Millisecond),
		Initial:  true,
		Log:      s.log(),
	}
}

// firstWatch waits for the watch to be in place (its initial poke), or
// for the watcher's failure to start, and then starts the apps of Dir.
func (s *Set) firstWatch(ctx context.Context, wg *sync.WaitGroup, changed <-chan struct{}, werr <-chan error) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-werr:
		return err
	case <-changed:
	}
	s.sync(ctx, wg, false)
	return nil
}

func or(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// sync scans Dir and starts, restarts and stops apps to match; with retry,
// it also tries again the apps that do not run. Removed apps are stopped
// first, and waited for, so that a file renamed (web.env to www.env) or
// removed and added back does not start the app beside its old run.
func (s *Set) sync(ctx context.Context, wg *sync.WaitGroup, retry bool) {
	files, err := Scan(s.Dir)
	if err != nil {
		s.log().Error("apps dir not read; the apps run on as they are", "dir", s.Dir, "err", err)
		return
	}
	seen := map[string]bool{}
	for _, f := range files {
		seen[f.Name] = true
	}
	s.mu.Lock()
	var gone []*slot
	for name, sl := range s.slots {
		if !seen[name] {
			s.log().Info("app file removed: stopping the app; the app process keeps running", "app", name)
			sl.remove()
			delete(s.slots, name)
			gone = append(gone, sl)
		}
	}
	s.mu.Unlock()
	for _, sl := range gone {
		select {
		case <-sl.done:
		case <-ctx.Done():
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range files {
		sl := s.slots[f.Name]
		switch {
		case sl == nil:
			s.log().Info("app added", "app", f.Name, "file", f.Path)
			sl = newSlot(f.Name)
			s.slots[f.Name] = sl
			wg.Go(func() { sl.loop(ctx, s) })
			sl.set(f)
		case sl.changed(f):
			s.log().Info("app file changed: restarting the app", "app", f.Name, "file", f.Path)
			sl.set(f)
		case retry && sl.app().Err != nil:
			sl.set(f)
		}
	}
}

// slot is one app: its goroutine (loop) runs the app of the latest file
// and restarts it when told.
type slot struct {
	name string
	kick chan struct{} // buffered 1: a new file, a retry, or removal
	done chan struct{} // closed when loop returns

	mu     sync.Mutex // guards the fields below
	file   File       // the file to run
	gone   bool
	err    error  // why the app does not run
	logged string // the last error logged
}

func newSlot(name string) *slot {
	return &slot{name: name, kick: make(chan struct{}, 1), done: make(chan struct{})}
}

func (sl *slot) poke() {
	select {
	case sl.kick <- struct{}{}:
	default:
	}
}

func (sl *slot) set(f File) {
	sl.mu.Lock()
	sl.file = f
	sl.mu.Unlock()
	sl.poke()
}

func (sl *slot) remove() {
	sl.mu.Lock()
	sl.gone = true
	sl.mu.Unlock()
	sl.poke()
}

func (sl *slot) changed(f File) bool {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return !bytes.Equal(sl.file.Data, f.Data) || (sl.file.Err == nil) != (f.Err == nil)
}

func (sl *slot) app() App {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return App{Name: sl.name, Path: sl.file.Path, Err: sl.err}
}

func (sl *slot) wanted() (File, bool) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return sl.file, sl.gone
}

// loop waits for a file, runs its app, and runs the next one when told,
// until the slot is removed or ctx ends.
func (sl *slot) loop(ctx context.Context, s *Set) {
	defer close(sl.done)
	for {
		select {
		case <-sl.kick:
		case <-ctx.Done():
			return
		}
		for {
			f, gone := sl.wanted()
			if gone || ctx.Err() != nil {
				return
			}
			if !sl.serve(ctx, s, f) {
				break // the app ended by itself: wait for a new file or a retry
			}
		}
	}
}

// serve runs the app of f until the slot is kicked (then it reports true,
// having stopped it), the app ends by itself, or ctx ends.
func (sl *slot) serve(ctx context.Context, s *Set, f File) (kicked bool) {
	if f.Err != nil {
		sl.fail(s, f, f.Err, 0)
		return false
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sl.mu.Lock()
	sl.err = nil
	sl.mu.Unlock()
	start := time.Now()
	ended := make(chan error, 1)
	go func() { ended <- s.Serve(runCtx, f) }()
	select {
	case <-sl.kick:
		cancel()
		<-ended
		return true
	case <-ctx.Done():
		cancel()
		<-ended
		return false
	case err := <-ended:
		if ctx.Err() == nil {
			if err == nil {
				err = errors.New("the app stopped by itself")
			}
			sl.fail(s, f, err, time.Since(start))
		}
		return false
	}
}

// fail records why the app does not run and logs it at error, unless the
// same error was the last one logged and the app did not run for long
// meanwhile (a retry that fails as before is no news).
func (sl *slot) fail(s *Set, f File, err error, ran time.Duration) {
	sl.mu.Lock()
	sl.err = err
	news := err.Error() != sl.logged || ran > or(s.Rescan, 30*time.Second)
	sl.logged = err.Error()
	sl.mu.Unlock()
	if news {
		s.log().Error("app not running; the other apps run on", "app", sl.name, "file", f.Path, "err", err)
	}
}
