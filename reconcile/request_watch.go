package reconcile

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/reconciler-dev/reconciler/internal/dirwatch"
)

// WatchRequests announces this process as the directory's agent and calls
// poke whenever a request is handed over, until ctx ends. It watches the
// requests DIRECTORY (a request arrives by rename: a CREATE) with the one
// directory watcher (internal/dirwatch: lost events, a watcher error or
// the directory replaced poke), and also looks every resync, in case an
// event was lost. Requests waiting when it starts are taken by the agent's
// first pass. poke must not block (a trigger that coalesces).
func (l Layout) WatchRequests(ctx context.Context, resync time.Duration, poke func()) error {
	if err := l.announceAgent(); err != nil {
		return err
	}
	w := dirwatch.Watcher{
		Dir:     l.requestsDir(),
		Match:   func(ev fsnotify.Event) bool { return ev.Has(fsnotify.Create) && strings.HasSuffix(ev.Name, requestExt) },
		Resync:  resync,
		Pending: l.requestWaiting,
	}
	return w.Run(ctx, poke)
}

// requestWaiting reports whether a request waits for a pass.
func (l Layout) requestWaiting() bool {
	entries, _ := os.ReadDir(l.requestsDir())
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), requestExt) {
			return true
		}
	}
	return false
}
