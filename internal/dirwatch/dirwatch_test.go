package dirwatch

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/reconciler-dev/reconciler/internal/testkit"
)

// pokes counts the pokes of a Run.
type pokes struct{ n atomic.Int64 }

func (p *pokes) poke()        { p.n.Add(1) }
func (p *pokes) count() int64 { return p.n.Load() }

// start runs w until the test ends, and returns its pokes (counted from
// when the watch is in place: the initial poke is not counted) and its log.
func start(t *testing.T, w Watcher) (*pokes, *testkit.SyncBuffer) {
	t.Helper()
	p := &pokes{}
	logs := &testkit.SyncBuffer{}
	w.Log = slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	initial := w.Initial
	w.Initial = true
	go func() { done <- w.Run(ctx, p.poke) }()
	testkit.WaitFor(t, "the watch in place", func() bool { return p.count() == 1 })
	if !initial {
		p.n.Add(-1)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return p, logs
}

func rename(t *testing.T, dir, name string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func created(suffix string) func(fsnotify.Event) bool {
	return func(ev fsnotify.Event) bool { return ev.Has(fsnotify.Create) && strings.HasSuffix(ev.Name, suffix) }
}

// TestMatchingEventsPoke: an event Match accepts pokes, one it refuses
// does not (the refused one comes first, so a poke seen is the second's).
func TestMatchingEventsPoke(t *testing.T) {
	dir := t.TempDir()
	p, _ := start(t, Watcher{Dir: dir, Match: created(".req")})
	rename(t, dir, "x.other")
	rename(t, dir, "a.req")
	testkit.WaitFor(t, "a poke for a.req", func() bool { return p.count() > 0 })
	if n := p.count(); n != 1 {
		t.Errorf("got %d pokes, want 1 (x.other is no match)", n)
	}
}

// TestInitialAndDebounced: Initial pokes once the watch is in place; a
// debounced change pokes once the writes stop.
func TestInitialAndDebounced(t *testing.T) {
	dir := t.TempDir()
	p, _ := start(t, Watcher{Dir: dir, Initial: true, Debounce: 20 * time.Millisecond})
	if n := p.count(); n != 1 {
		t.Fatalf("got %d pokes once the watch is in place, want the initial one", n)
	}
	rename(t, dir, "current.conf")
	testkit.WaitFor(t, "a poke for the change", func() bool { return p.count() == 2 })
}

// TestReplacedDirIsWatchedAgain: the directory renamed away and a new one
// put in its place, or removed and made again, is watched again: a change
// in the new directory pokes. (A watch ends with its directory; without
// re-adding it, nothing more ever came.)
func TestReplacedDirIsWatchedAgain(t *testing.T) {
	for _, how := range []string{"renamed away", "removed"} {
		t.Run(how, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "requests")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			p, logs := start(t, Watcher{Dir: dir, Match: created(".req")})
			rename(t, dir, "a.req")
			testkit.WaitFor(t, "a poke for a.req", func() bool { return p.count() == 1 })
			var err error
			if how == "removed" {
				err = os.RemoveAll(dir)
			} else {
				err = os.Rename(dir, dir+".old")
			}
			if err != nil {
				t.Fatal(err)
			}
			testkit.WaitFor(t, "the watcher to see the directory go", func() bool { return strings.Contains(logs.String(), "removed or replaced") })
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			testkit.WaitFor(t, "a poke for the directory back", func() bool { return p.count() == 2 })
			rename(t, dir, "b.req")
			testkit.WaitFor(t, "a poke for b.req in the new directory", func() bool { return p.count() == 3 })
			if !strings.Contains(logs.String(), "watching the directory again") {
				t.Errorf("log does not say the directory is watched again:\n%s", logs)
			}
		})
	}
}

// TestErrorsPoke: an overflow and any other error of the watcher are
// logged and poke (events may be lost); fsnotify closing a channel ends
// Run with an error naming the directory.
func TestErrorsPoke(t *testing.T) {
	events, errs := make(chan fsnotify.Event), make(chan error)
	logs := &testkit.SyncBuffer{}
	p := &pokes{}
	l := &loop{w: Watcher{Dir: "/d/requests", Log: slog.New(slog.NewTextHandler(logs, nil))}, add: func(string) error { return nil }, poke: p.poke}
	done := make(chan error, 1)
	go func() { done <- l.run(t.Context(), events, errs) }()
	errs <- fsnotify.ErrEventOverflow
	errs <- errors.New("inotify read: EBADF") // the loop took the overflow: it poked
	close(events)
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "/d/requests") {
		t.Errorf("Run after the event channel closed: got %v, want an error naming the directory", err)
	}
	if n := p.count(); n != 2 {
		t.Errorf("got %d pokes, want 2 (overflow, error)", n)
	}
	for _, want := range []string{"queue overflow", "inotify read: EBADF"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// TestResyncAsksPending: on the Resync period the owner is poked only if
// Pending says something waits.
func TestResyncAsksPending(t *testing.T) {
	var waiting atomic.Bool
	p, _ := start(t, Watcher{Dir: t.TempDir(), Resync: 5 * time.Millisecond, Pending: waiting.Load})
	waiting.Store(true)
	testkit.WaitFor(t, "a poke once something waits", func() bool { return p.count() > 0 })
}

// TestRunNeedsTheDir: a directory that cannot be watched fails at once,
// naming it.
func TestRunNeedsTheDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	err := Watcher{Dir: dir}.Run(t.Context(), func() {})
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("got %v, want an error naming %s", err, dir)
	}
}
