package graceful

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"
)

// Defaults for the zero values of Options.
const (
	DefaultDrainTimeout   = 30 * time.Second
	DefaultIdleGrace      = time.Second
	DefaultUpgradeTimeout = time.Minute
)

// Options configure Run. Addr and Handler are required.
type Options struct {
	// Addr is the TCP address to listen on, e.g. "127.0.0.1:8080". It names
	// the socket handed from process to process, so keep it the same across
	// releases: a new Addr gets a new socket.
	Addr string

	// Handler serves the requests.
	Handler http.Handler

	// PIDFile, if set, is rewritten atomically with the pid of the process
	// that serves, once it is ready; a final stop removes it. A relative
	// path is taken from the working directory at start.
	PIDFile string

	// DrainTimeout bounds a handover or a stop: how long in-flight requests
	// get to finish before their connections are closed. Default 30s.
	DrainTimeout time.Duration

	// IdleGrace bounds how long a connection accepted, or idle between
	// keep-alive requests, when the handover begins still gets to deliver a
	// request (answered here with "Connection: close") before it is
	// closed. Default 1s.
	IdleGrace time.Duration

	// UpgradeTimeout is how long a new process has to report ready before
	// it is killed and this one goes on serving; also how long a SIGHUP
	// that arrives while the process this one replaced still drains waits
	// for it to exit. Default 1m.
	UpgradeTimeout time.Duration

	// Ready, if set, is called once this process serves.
	Ready func()

	// Log receives one line per event (serving, upgrade requested, failed or
	// done, draining, drained). Give it the pid (logger.With("pid", ...)):
	// old and new process share stderr during a handover. Default: discard.
	Log *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Addr == "" {
		return o, errors.New("graceful: Options.Addr is empty")
	}
	if o.Handler == nil {
		return o, errors.New("graceful: Options.Handler is nil")
	}
	if o.PIDFile != "" {
		// tableflip resolves a relative name against the start directory;
		// so does a final stop that removes the file.
		abs, err := filepath.Abs(o.PIDFile)
		if err != nil {
			return o, fmt.Errorf("graceful: pid file %s: %w", o.PIDFile, err)
		}
		o.PIDFile = abs
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.IdleGrace <= 0 {
		o.IdleGrace = DefaultIdleGrace
	}
	if o.UpgradeTimeout <= 0 {
		o.UpgradeTimeout = DefaultUpgradeTimeout
	}
	if o.Ready == nil {
		o.Ready = func() {}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
