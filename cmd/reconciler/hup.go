package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// hupRelay turns SIGHUP into a request: from the moment it is made, a
// SIGHUP no longer kills the process (its default), it is logged and
// handed to whoever start names (`run --dir`: poll now; `watch`: look
// again). A SIGHUP that arrives before start is kept (a buffer of one), so
// the relay is made first thing and started once there is something to
// poke.
type hupRelay struct {
	ch   chan os.Signal
	wg   sync.WaitGroup
	stop context.CancelFunc
}

func newHUPRelay() *hupRelay {
	h := &hupRelay{ch: make(chan os.Signal, 1), stop: func() {}}
	signal.Notify(h.ch, syscall.SIGHUP)
	return h
}

// start logs msg and calls poke at every SIGHUP until ctx ends or Close.
// poke must not block (a trigger that coalesces).
func (h *hupRelay) start(ctx context.Context, log *slog.Logger, msg string, poke func()) {
	ctx, h.stop = context.WithCancel(ctx)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-h.ch:
				log.Info(msg, "signal", "SIGHUP")
				poke()
			}
		}
	}()
}

// Close stops relaying and waits for the relay to end. SIGHUP stays
// caught, and ignored, until the process exits: the agent stopping after
// a SIGHUP must not be killed by the next one halfway through its stop.
func (h *hupRelay) Close() {
	h.stop()
	h.wg.Wait()
}
