package agenthost

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/reconciler-dev/reconciler/restart"
)

// RequestResync is how often an agent also looks for requests handed over
// (sync, resume, retry), in case the file watcher lost an event.
const RequestResync = 2 * time.Second

// Loop is one app's agent with what runs beside it.
type Loop struct {
	Agent  *reconcile.Agent
	Layout reconcile.Layout
	// Exits, if set, watches the app's process; its exits go to the agent.
	Exits *restart.ExitWatch
	// OnRequest is called for a request handed over: poll now.
	OnRequest func()
	// Server, if set, is served on Listener (NewServer).
	Server   *http.Server
	Listener net.Listener
	Log      *slog.Logger
}

// Run runs the agent loop, the watcher of release/current.conf, the watch
// on requests handed over, the exit watch and the HTTP server until ctx
// ends or one of them fails, then waits for them all. It returns nil when
// ctx ended.
func (l Loop) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 5) // one per goroutine below: none blocks on its way out
	wg.Go(func() { errs <- l.Agent.Run(ctx) })
	wg.Go(func() {
		// Without it, a request still waits for the next scheduled poll.
		if err := l.Layout.WatchRequests(ctx, RequestResync, l.OnRequest); err != nil {
			l.Log.Warn("requests of sync, resume and retry wait for the next poll", "err", err)
		}
		errs <- nil
	})
	pokes := make(chan struct{}, 1)
	wg.Go(func() { errs <- restart.Watcher{Dir: l.Layout.Dir, Log: l.Log}.Run(ctx, pokes) })
	exits := make(chan restart.Exit)
	if l.Exits != nil {
		if err := restart.BecomeSubreaper(); err != nil { // the exit status of a handover's successor
			l.Log.Warn("not a child subreaper: the exit status of an app process after a handover is unknown", "err", err)
		}
		wg.Go(func() { errs <- l.Exits.Run(ctx, exits) })
	}
	if l.Server != nil {
		wg.Go(func() { errs <- ServeHTTP(ctx, l.Server, l.Listener) })
	}
	first := l.wait(ctx, pokes, exits, errs)
	cancel()
	wg.Wait()
	if first == nil || errors.Is(first, context.Canceled) {
		l.Log.Info("agent stopped; the app keeps running")
		return nil
	}
	return first
}

// wait hands the watchers' news to the agent until ctx ends or a
// goroutine fails, and returns that failure.
func (l Loop) wait(ctx context.Context, pokes <-chan struct{}, exits <-chan restart.Exit, errs <-chan error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-pokes:
			l.Agent.LocalChanged()
		case x := <-exits:
			l.Agent.AppExited(appExit(x))
		case err := <-errs:
			if err != nil {
				return err
			}
		}
	}
}

// appExit is an exit as the reconcile package keeps it.
func appExit(x restart.Exit) reconcile.AppExit {
	return reconcile.AppExit{Time: x.Time.UTC(), PID: x.PID, BinFile: x.Exe, Status: x.Status(), LogTail: x.LogTail}
}

// ExitWatch is the exit watch of an engine's app directory, sharing the
// switcher's record of the statuses it reaped and its "switching" flag;
// nil when the engine has no restart.Switcher.
func ExitWatch(eng *reconcile.Engine) *restart.ExitWatch {
	sw, ok := eng.Switcher.(*restart.Switcher)
	if !ok {
		return nil
	}
	return &restart.ExitWatch{Dir: sw.Dir, Reaped: sw.Reaped, Switching: sw.Switching, Switches: sw.Switches, Served: sw.Served}
}
