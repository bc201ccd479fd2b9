package restart

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"syscall"
	"time"

	"github.com/reconciler-dev/reconciler/internal/procfs"
)

// hupRetry is how often a SIGHUP that did not take is sent again: tableflip
// refuses an upgrade while the previous one drains.
const hupRetry = time.Second

// runBinary gets a process of this directory onto bin within the health
// timeout, and healthy. Getting the process there is the critical section
// of a switch whose links moved: a stop (ctx) does not cut it short
// (bounded by DrainTimeout and HealthTimeout all the same), so links and
// process agree when the agent stops. The health checks are cut short by a
// stop: then it returns ctx.Err(), which is no verdict on the release.
func (s *Switcher) runBinary(ctx context.Context, t target) error {
	crit := context.WithoutCancel(ctx)
	if err := s.waitDrain(crit); err != nil { // before the health timeout starts
		return err
	}
	hctx, cancel := context.WithTimeout(crit, s.timeout())
	defer cancel()
	pid, err := s.move(hctx, t.Bin)
	if err != nil {
		return s.explain(hctx, err)
	}
	s.log().Info("app runs the release", "pid", pid, "bin", s.rel(t.Bin))
	cctx, stop := context.WithCancel(hctx)
	defer stop()
	defer context.AfterFunc(ctx, stop)()
	err = s.healthy(cctx, pid, t)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if procs, ferr := s.finder().Find(); err == nil && ferr == nil && len(procs) > 0 {
		s.notePID(procs[0].PID) // the youngest serves: the new process of a handover
	}
	return s.explain(hctx, err)
}

// move gets a process of this directory onto bin: the one there already
// (not signalled), a new one when none runs, or the running one signalled.
func (s *Switcher) move(ctx context.Context, bin string) (int, error) {
	procs, err := s.finder().Find()
	if err != nil {
		return 0, err
	}
	switch {
	case len(procs) > 0 && procs[0].Exe == bin:
		return procs[0].PID, nil // already there (a rollback the old process never left, a judgement finished)
	case len(procs) == 0:
		return s.start(ctx, bin)
	case s.Mode == ModeRestart:
		if err := s.stop(ctx, procs); err != nil {
			return 0, err
		}
		return s.start(ctx, bin)
	}
	return s.hup(ctx, procs[0], bin)
}

// explain turns the health deadline into a message an operator can use.
func (s *Switcher) explain(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("not up within --health-timeout %s: %w", s.timeout(), err)
	}
	return err
}

// hup signals the running app and waits for a new process on bin.
func (s *Switcher) hup(ctx context.Context, old Proc, bin string) (int, error) {
	var lastHUP, suspect time.Time
	var found int
	watch := newUpgradeWatch(s.finder(), old.PID)
	err := poll(ctx, 10*time.Millisecond, func() (bool, error) {
		procs, err := s.finder().findAfterHandover()
		if err != nil {
			return false, err
		}
		for _, p := range procs {
			if p.Exe == bin && p.PID != old.PID {
				found = p.PID
				return true, nil
			}
		}
		if len(procs) == 0 {
			return false, fmt.Errorf("%w (pid %d) without a successor: does it handle SIGHUP? An app that does not re-exec itself on SIGHUP needs --restart restart (or restart/graceful in the app)%s",
				errGone, old.PID, logTail(s.Dir))
		}
		switch pid, failed, sure := watch.failed(); {
		case failed && sure:
			return false, watch.errUpgrade(pid, s.Dir)
		case failed && suspect.IsZero():
			suspect = time.Now()
		case failed && time.Since(suspect) >= reapGrace:
			return false, watch.errUpgrade(0, s.Dir)
		}
		if suspect.IsZero() && time.Since(lastHUP) >= hupRetry { // no SIGHUP again into a failed upgrade
			target := procs[0] // the youngest: the one that serves
			if why := hupRefused(target.PID); why != "" && !lastHUP.IsZero() {
				return false, errHUPRefused(target.PID, why) // a second look: not one taken while it set up
			}
			if err := s.signal(target.PID, syscall.SIGHUP); err != nil {
				return false, fmt.Errorf("SIGHUP pid %d: %w", target.PID, err)
			}
			s.log().Info("sent SIGHUP", "pid", target.PID, "retry", !lastHUP.IsZero())
			lastHUP = time.Now()
		}
		return false, nil
	})
	if err != nil {
		return 0, fmt.Errorf("no process runs %s after SIGHUP: %w", s.rel(bin), err)
	}
	// The old process may drain long requests for as long as the app
	// allows: that is no reason to judge the new release. The next switch
	// waits for the drain (waitDrain); healthy lets the new process settle
	// first, so that the old one has stopped accepting when it is asked.
	return found, nil
}

// stop sends SIGTERM, and SIGKILL after the grace period.
func (s *Switcher) stop(ctx context.Context, procs []Proc) error {
	for _, p := range procs {
		if err := s.signal(p.PID, syscall.SIGTERM); err != nil {
			return fmt.Errorf("SIGTERM pid %d: %w", p.PID, err)
		}
		s.log().Info("sent SIGTERM", "pid", p.PID)
	}
	grace := s.StopGrace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	gctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	allGone := func() (bool, error) {
		for _, p := range procs {
			if procfs.Alive(p.PID) {
				return false, nil
			}
		}
		return true, nil
	}
	if poll(gctx, 20*time.Millisecond, allGone) == nil {
		return nil
	}
	for _, p := range procs {
		if procfs.Alive(p.PID) {
			s.log().Warn("sent SIGKILL after the grace period", "pid", p.PID, "grace", grace)
			_ = s.signal(p.PID, syscall.SIGKILL)
		}
	}
	return poll(ctx, 20*time.Millisecond, allGone)
}

// textBusyFor bounds how long a start refused with "text file busy" is
// tried again.
const textBusyFor = 2 * time.Second

// start runs Exec and waits until the new process runs bin.
func (s *Switcher) start(ctx context.Context, bin string) (int, error) {
	pid, wait, err := s.startApp(ctx)
	if err != nil {
		return 0, err
	}
	s.log().Info("started the app", "pid", pid, "exec", s.Exec)
	exited := make(chan error, 1)
	go func() { exited <- wait() }()
	err = poll(ctx, 10*time.Millisecond, func() (bool, error) {
		select {
		case werr := <-exited:
			exited <- werr
		default:
		}
		if p, ok := s.finder().inspect(pid); ok && p.Exe == bin {
			return true, nil
		}
		select {
		case werr := <-exited:
			exited <- werr
			return false, fmt.Errorf("%w at start (%v)%s", errGone, werr, logTail(s.Dir))
		default:
		}
		return false, nil
	})
	return pid, err
}

// startApp runs Exec, again while exec answers ETXTBSY ("text file
// busy"): in a process that writes release binaries while it forks (an
// agent of several apps, several agents in one process), a child forked
// and not yet exec'd holds a copy of the descriptor another goroutine
// wrote the binary with, for the moment until it execs; the binary cannot
// be executed in that moment, though it was written and closed.
func (s *Switcher) startApp(ctx context.Context) (pid int, wait func() error, err error) {
	give, busy := time.Now().Add(textBusyFor), false
	perr := poll(ctx, 20*time.Millisecond, func() (bool, error) {
		pid, wait, err = Starter{Dir: s.Dir, Exec: s.Exec, Reaped: s.Reaped, Cred: s.AppCred}.Start()
		if errors.Is(err, syscall.ETXTBSY) && time.Now().Before(give) {
			if !busy {
				s.log().Info("the binary is busy (text file busy): starting again", "exec", s.Exec, "for", textBusyFor)
				busy = true
			}
			return false, nil
		}
		return true, nil
	})
	if perr != nil && err == nil {
		err = perr
	}
	return pid, wait, err
}

// healthy waits until pid (or a successor on bin) has run bin for the
// settle time and every health check passes.
func (s *Switcher) healthy(ctx context.Context, pid int, t target) error {
	bin, client := t.Bin, s.client()
	var last error
	settled := time.Now().Add(s.settle())
	err := poll(ctx, 50*time.Millisecond, func() (bool, error) {
		if p, ok := s.finder().inspect(pid); !ok || p.Exe != bin {
			next, more := s.successor(pid, bin)
			if !more {
				return false, fmt.Errorf("%w (pid %d)%s", errGone, pid, logTail(s.Dir))
			}
			pid = next
		}
		if time.Now().Before(settled) {
			return false, nil
		}
		err := s.checks(ctx, client, t)
		if ctx.Err() == nil || last == nil {
			// An attempt the deadline cut says nothing of the release:
			// the last answer quoted is the last whole one.
			last = err
		}
		return err == nil, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("%w (last answer: %v)", err, last)
	}
	return err
}

// successor finds another process of this dir on bin (the app may have
// re-exec'd itself again).
func (s *Switcher) successor(pid int, bin string) (int, bool) {
	procs, _ := s.finder().Find()
	for _, p := range procs {
		if p.Exe == bin && p.PID != pid {
			return p.PID, true
		}
	}
	return 0, false
}

func (s *Switcher) client() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	// A new connection per check: a kept-alive one may lead to the old
	// process, still draining, whose answer says nothing of the new.
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}
