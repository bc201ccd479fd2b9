package main

import (
	"log/slog"

	"github.com/reconciler-dev/reconciler/internal/sdnotify"
)

// notifyReady tells systemd that the agent started (READY=1; the units
// are Type=notify, see packaging/systemd): its lock is held, its endpoint
// listens and its loop starts now. Not under systemd, it does nothing.
func notifyReady(log *slog.Logger) {
	if _, err := sdnotify.Ready(); err != nil {
		log.Warn("could not tell systemd the agent started (READY=1)", "err", err)
	}
}
