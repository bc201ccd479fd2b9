package restart

import (
	"context"
	"fmt"
	"time"
)

// DrainError says a previous handover was still draining when the next
// switch had to begin, for longer than DrainTimeout. Nothing was switched;
// it is a fault to retry later, not a failure of the release.
type DrainError struct {
	PID     int           // the old process still draining
	Exe     string        // its binary
	Timeout time.Duration // DrainTimeout
}

func (e *DrainError) Error() string {
	return fmt.Sprintf("the previous handover is still draining after --drain-timeout %s: pid %d (on %s) has not exited; nothing switched, retried later",
		e.Timeout, e.PID, e.Exe)
}

// draining returns the old process of a handover that is still draining:
// the parent of the youngest process of this directory, when it is one of
// ours too (tableflip's new process is the old one's child until the old
// one exits). ok is false when no handover drains.
func draining(procs []Proc) (Proc, bool) {
	if len(procs) < 2 {
		return Proc{}, false
	}
	for _, p := range procs[1:] {
		if p.PID == procs[0].PPID {
			return p, true
		}
	}
	return Proc{}, false
}

// waitDrain waits, in hup mode, until no previous handover drains: the
// app refuses a new upgrade until then. The wait is bounded by
// DrainTimeout and does not count toward HealthTimeout.
func (s *Switcher) waitDrain(ctx context.Context) error {
	if s.Mode != ModeHUP && s.Mode != "" {
		return nil
	}
	procs, err := s.finder().Find()
	if err != nil {
		return err
	}
	old, ok := draining(procs)
	if !ok {
		return nil
	}
	s.log().Info("waiting for the previous handover to drain", "pid", old.PID, "bin", s.rel(old.Exe), "drain_timeout", s.drainTimeout())
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, s.drainTimeout())
	defer cancel()
	err = poll(dctx, 50*time.Millisecond, func() (bool, error) {
		procs, err := s.finder().Find()
		if err != nil {
			return false, err
		}
		old, ok = draining(procs)
		return !ok, nil
	})
	switch {
	case err == nil:
		s.log().Info("previous handover drained", "waited", time.Since(start).Round(time.Millisecond))
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case dctx.Err() != nil:
		return &DrainError{PID: old.PID, Exe: s.rel(old.Exe), Timeout: s.drainTimeout()}
	}
	return err
}
