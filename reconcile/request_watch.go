package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchRequests announces this process as the directory's agent and calls
// poke whenever a request is handed over, until ctx ends. It watches the
// requests DIRECTORY (a request arrives by rename: a CREATE), and also
// looks every resync, in case an event was lost (an overflow pokes at
// once). Requests waiting when it starts are taken by the agent's first
// pass. poke must not block (a trigger that coalesces).
func (l Layout) WatchRequests(ctx context.Context, resync time.Duration, poke func()) error {
	if err := l.announceAgent(); err != nil {
		return err
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", l.requestsDir(), err)
	}
	defer fw.Close()
	if err := fw.Add(l.requestsDir()); err != nil {
		return fmt.Errorf("watch %s: %w", l.requestsDir(), err)
	}
	tick := time.NewTicker(resync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return errors.New("watch requests: fsnotify closed its event channel")
			}
			if ev.Has(fsnotify.Create) && strings.HasSuffix(ev.Name, requestExt) {
				poke()
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return errors.New("watch requests: fsnotify closed its error channel")
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				poke()
			}
		case <-tick.C:
			if l.requestWaiting() {
				poke()
			}
		}
	}
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
