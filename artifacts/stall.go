package artifacts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

const defaultStallTimeout = time.Minute

// errStalled is the cause given to a fetch's context when no byte arrived
// for too long. It wraps os.ErrDeadlineExceeded: a timeout, hence transient.
var errStalled = errors.New("stalled")

// watchdog cancels a context when it is not fed for d: the body of a big
// artifact has no overall deadline, but a silent server must not hang the
// agent forever.
type watchdog struct {
	ctx    context.Context
	d      time.Duration
	timer  *time.Timer
	cancel context.CancelCauseFunc
}

func newWatchdog(ctx context.Context, d time.Duration) *watchdog {
	if d <= 0 {
		d = defaultStallTimeout
	}
	w := &watchdog{d: d}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	w.timer = time.AfterFunc(d, func() {
		w.cancel(fmt.Errorf("%w: no data for %s: %w", errStalled, d, os.ErrDeadlineExceeded))
	})
	return w
}

// feed restarts the countdown; called on every read that got bytes.
func (w *watchdog) feed() { w.timer.Reset(w.d) }

func (w *watchdog) stop() {
	w.timer.Stop()
	w.cancel(nil)
}

// explain replaces err by the stall if the watchdog caused it: net/http
// reports the cause, but another Doer may say a bare "context canceled",
// which is not transient.
func (w *watchdog) explain(err error) error {
	if cause := context.Cause(w.ctx); err != nil && errors.Is(cause, errStalled) {
		return cause
	}
	return err
}
