package graceful

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// upgrader is the part of *tableflip.Upgrader the signal loop uses.
type upgrader interface {
	// Upgrade starts a new process, passes it the sockets and waits until it
	// is ready or has failed.
	Upgrade() error
	// WaitForParent blocks until the process this one replaced has exited.
	WaitForParent(ctx context.Context) error
}

// errParentAlive is tableflip's refusal to upgrade a process whose
// predecessor has not exited yet. tableflip v1.2 exports no sentinel for it,
// so it is recognised by its text; the real-process tests in cmd/exampleapp
// would notice a change.
const errParentAlive = "parent hasn't exited"

func isParentAlive(err error) bool { return err != nil && err.Error() == errParentAlive }

// upgradeOnSignal asks for an upgrade on each signal until ctx is done. A
// failed upgrade leaves this process serving: it is logged, not returned.
// Signals that arrive while an upgrade runs are coalesced by the channel's
// buffer.
func upgradeOnSignal(ctx context.Context, sigs <-chan os.Signal, upg upgrader, timeout time.Duration, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-sigs:
			log.Info("upgrade requested", "signal", sig.String())
			start := time.Now()
			uctx, cancel := context.WithTimeout(ctx, timeout)
			err := upgrade(uctx, upg, log)
			cancel()
			if err != nil {
				log.Warn("upgrade failed, still serving", "err", err)
				continue
			}
			log.Info("upgrade done, new process ready", "took", time.Since(start).Round(time.Millisecond))
		}
	}
}

// upgrade upgrades, first waiting (within ctx) for the process this one
// replaced to exit if it still drains: tableflip refuses to upgrade before
// that, and a SIGHUP sent then, or just after the old pid is gone (tableflip
// learns of the exit a moment later), would otherwise be lost.
func upgrade(ctx context.Context, upg upgrader, log *slog.Logger) error {
	backoff := time.Millisecond
	for {
		err := upg.Upgrade()
		if !isParentAlive(err) {
			return err
		}
		if backoff == time.Millisecond {
			log.Info("upgrade waits for the previous process to exit")
		}
		if werr := upg.WaitForParent(ctx); werr != nil {
			return fmt.Errorf("%w; waiting for it: %w", err, werr)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w; then: %w", err, ctx.Err())
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}
