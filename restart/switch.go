package restart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// Mode is how the switcher gets the app onto a new binary.
type Mode string

// Modes of Switcher.
const (
	ModeHUP     Mode = "hup"     // SIGHUP: the app re-execs ./app.bin and hands over its sockets
	ModeRestart Mode = "restart" // SIGTERM, wait, SIGKILL after StopGrace, start anew
	ModeNone    Mode = "none"    // links only
)

// ParseMode reads a mode as --restart spells it.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeHUP, ModeRestart, ModeNone:
		return m, nil
	}
	return "", fmt.Errorf("%q: want hup, restart or none", s)
}

// Describe says, for plans, what happens to the app process after the
// links switch.
func (s *Switcher) Describe() string {
	switch s.Mode {
	case ModeNone:
		return "none (--restart none): the links change, the app is not signalled"
	case ModeRestart:
		return "restart: SIGTERM the app, wait, start " + s.Exec
	}
	return "hup: SIGHUP the app to re-exec ./app.bin (start " + s.Exec + " if none runs)"
}

// Switcher makes an app directory run a release: it checks the binary,
// swaps the links, gets the process onto the new binary and verifies it,
// and switches back by itself when the new release does not come up.
type Switcher struct {
	Dir       string // the app directory, absolute
	Mode      Mode   // ModeHUP (default), ModeRestart or ModeNone
	Exec      string // how to start the app when none runs
	HealthURL string // optional: must answer 2xx
	// HealthCmd, optional, must exit 0: run in Dir, split on white space
	// (no shell), with the switch in RECONCILER_* variables (see env).
	HealthCmd string
	// HealthTCP, optional (host:port), must accept a TCP connection.
	HealthTCP string
	// HealthTimeout bounds the coming up and the health checks of a new
	// release; default DefaultHealthTimeout.
	HealthTimeout time.Duration
	// HealthBake, optional: once healthy, the new release must stay up,
	// on its binary and passing the checks, this long; otherwise it is
	// switched back like an unhealthy one. Not part of HealthTimeout.
	HealthBake time.Duration
	StopGrace  time.Duration // restart mode: SIGKILL after this; default 10s
	// DrainTimeout bounds the wait for a previous handover to finish
	// draining before the next SIGHUP (default DefaultDrainTimeout); it is not part of
	// HealthTimeout, and running out of it is a DrainError, not a failure
	// of the release.
	DrainTimeout time.Duration
	// Settle is how long a new process must stay up before it counts as
	// running the release (default 500ms): a binary that exits at once is
	// not a successful switch, with or without a health URL.
	Settle time.Duration
	// Signal sends a signal; default syscall.Kill. Tests may wrap it.
	Signal func(pid int, sig syscall.Signal) error
	HTTP   *http.Client
	Log    *slog.Logger
	// Reaped, if set, is told the exit status of every app process the
	// switcher starts (see ExitWatch).
	Reaped *Reaped

	switching atomic.Int32  // Switch calls under way (Switching)
	switches  atomic.Uint64 // Switch calls ended (Switches)
	served    atomic.Pointer[Proc]
	// AppCred, optional (--app-user): the user, group and groups Exec
	// runs as (Starter.Cred); nil: the agent's.
	AppCred *syscall.Credential
}

// UnhealthyError says a release did not come up healthy and the previous
// one was put back, or, with NoPrevious, that there was none: the links
// were removed and the release's process stopped. Unhealthy lets callers
// record the revision as failed.
type UnhealthyError struct {
	Bin         string
	Err         error // why the release was judged unhealthy
	RollbackErr error // non-nil if putting the previous release back failed too
	// NoPrevious: the release was the directory's first; nothing to
	// switch back to.
	NoPrevious bool
}

func (e *UnhealthyError) Error() string {
	msg := fmt.Sprintf("release %s did not come up: %v; switched back to the previous release", filepath.Base(e.Bin), e.Err)
	if e.NoPrevious {
		msg = fmt.Sprintf("release %s did not come up: %v; there is no previous release to switch back to: removed the app.bin and app.cfg links and stopped its process (the app stays down until a release comes up)",
			filepath.Base(e.Bin), e.Err)
	}
	if e.RollbackErr != nil {
		msg += fmt.Sprintf(" (which failed too: %v)", e.RollbackErr)
	}
	return msg
}

// Unhealthy marks the error for reconcile: record the revision as failed.
func (e *UnhealthyError) Unhealthy() bool { return true }

func (e *UnhealthyError) Unwrap() error { return e.Err }

// Check refuses a binary this machine cannot run (see CheckExecutable).
func (s *Switcher) Check(bin string) error { return CheckExecutable(bin) }

// Switch makes the directory run the release to (absolute paths inside
// Dir/release; to.Cfg may be empty: app.cfg is then left alone). The caller
// has checked to.Bin with Check before anything pointed at it (reconcile
// does, before it writes release/current.conf); Switch does not check again.
// to.Revision is only told to the health command.
func (s *Switcher) Switch(ctx context.Context, to appdir.Target) error {
	s.switching.Add(1)
	defer func() { s.switches.Add(1); s.switching.Add(-1) }()
	defer s.noteServed()
	if err := CleanLinks(s.Dir); err != nil {
		return fmt.Errorf("clean temporary links: %w", err)
	}
	from := appdir.Target{Bin: appdir.LinkTarget(s.Dir, appdir.BinLink), Cfg: appdir.LinkTarget(s.Dir, appdir.CfgLink)}
	return s.switchTo(ctx, to, from)
}

// Judge finishes the judgement of a switch from -> to that another run
// began and did not finish (an agent stopped or killed): the links are
// put on to (left there when they are already), the process is got onto
// to only when it is not on it yet (one that runs to is not signalled),
// then the health checks within HealthTimeout and the whole HealthBake,
// from the start. A release that fails is switched back to from, as
// Switch does (an UnhealthyError); from.Bin "" is a first release, with
// nothing to put back. A stop (ctx) during the checks returns ctx.Err():
// links and process agree on to, still to be judged.
func (s *Switcher) Judge(ctx context.Context, to, from appdir.Target) error {
	if err := CleanLinks(s.Dir); err != nil {
		return fmt.Errorf("clean temporary links: %w", err)
	}
	if from.Cfg == "" {
		from.Cfg = appdir.LinkTarget(s.Dir, appdir.CfgLink)
	}
	return s.switchTo(ctx, to, from)
}

// switchTo moves the links from -> to, gets the process onto to and judges
// it, switching back to from when it fails. Once a link moved, a stop
// (ctx) does not cut short getting a process onto the binary the links
// name (runBinary's critical section): links and process agree when it
// returns; the checks and the bake are cut short, with ctx.Err().
func (s *Switcher) switchTo(ctx context.Context, to, from appdir.Target) error {
	prevBin, prevCfg := from.Bin, from.Cfg
	// A previous handover still draining refuses the next one: wait before
	// any link moves, so links and process keep agreeing meanwhile.
	if err := s.waitDrain(ctx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // stopped before anything moved
	}
	if err := s.point(to.Bin, to.Cfg); err != nil {
		return err
	}
	s.log().Info("links switched", "bin", s.rel(to.Bin), "cfg", s.rel(to.Cfg), "from", s.rel(prevBin))
	if s.Mode == ModeNone {
		return nil
	}
	next := target{Target: to, from: prevBin}
	if next.Cfg == "" {
		next.Cfg = appdir.LinkTarget(s.Dir, appdir.CfgLink)
	}
	err := s.runBinary(ctx, next)
	if err == nil {
		err = s.bake(ctx, next)
	}
	if err == nil || stopped(ctx, err) {
		return err
	}
	s.log().Error("release did not come up, switching back", "bin", s.rel(to.Bin), "err", err)
	uerr := &UnhealthyError{Bin: to.Bin, Err: err}
	if prevBin == "" {
		uerr.NoPrevious, uerr.RollbackErr = true, s.unswitch(ctx, prevCfg)
		return uerr
	}
	if prevBin == to.Bin {
		return uerr
	}
	if err := s.point(prevBin, prevCfg); err != nil {
		uerr.RollbackErr = err
		return uerr
	}
	// The switcher does not know the previous release's revision. The
	// switch back is not cut short by a stop: links and process agree.
	back := target{Target: appdir.Target{Bin: prevBin, Cfg: prevCfg}, from: to.Bin}
	uerr.RollbackErr = s.runBinary(context.WithoutCancel(ctx), back)
	return uerr
}

// stopped reports whether err is the stop of ctx (the agent stopping), not
// a verdict on the release.
func stopped(ctx context.Context, err error) bool {
	return ctx.Err() != nil && errors.Is(err, ctx.Err())
}

// point swaps app.cfg then app.bin: the binary last, so a process started
// between the two renames never pairs the new binary with an old config.
func (s *Switcher) point(bin, cfg string) error {
	if cfg != "" {
		if err := Swap(s.Dir, appdir.CfgLink, s.rel(cfg)); err != nil {
			return err
		}
	}
	return Swap(s.Dir, appdir.BinLink, s.rel(bin))
}

// rel makes a link target relative to the app dir, so the directory can be
// moved or bind-mounted elsewhere.
func (s *Switcher) rel(p string) string { return appdir.Rel(s.Dir, p) }

func (s *Switcher) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s.Log
}

func (s *Switcher) signal(pid int, sig syscall.Signal) error {
	if s.Signal != nil {
		return s.Signal(pid, sig)
	}
	return syscall.Kill(pid, sig)
}

func (s *Switcher) finder() Finder { return Finder{Dir: s.Dir} }

func (s *Switcher) settle() time.Duration {
	if s.Settle <= 0 {
		return 500 * time.Millisecond
	}
	return s.Settle
}

func (s *Switcher) drainTimeout() time.Duration {
	if s.DrainTimeout <= 0 {
		return DefaultDrainTimeout
	}
	return s.DrainTimeout
}

func (s *Switcher) timeout() time.Duration {
	if s.HealthTimeout <= 0 {
		return DefaultHealthTimeout
	}
	return s.HealthTimeout
}

var errGone = errors.New("the app exited")

// Running reports the pid of the app and whether it runs bin. With
// ModeNone the process is not the switcher's business: always true.
func (s *Switcher) Running(bin string) (int, bool) {
	procs, err := s.finder().Find()
	if err != nil || len(procs) == 0 {
		return 0, s.Mode == ModeNone
	}
	s.notePID(procs[0].PID) // a handover the switcher did not ask for
	return procs[0].PID, procs[0].Exe == bin || s.Mode == ModeNone
}

// Switching reports whether a Switch is under way: an app process that
// ends meanwhile is the switch's to judge (the stop of --restart restart,
// a release that does not come up), not an app exit.
func (s *Switcher) Switching() bool { return s.switching.Load() > 0 }

// Switches counts the Switch calls that ended: a process the switch
// started is for an ExitWatch to look at at once.
func (s *Switcher) Switches() uint64 { return s.switches.Load() }

// Served is the process found serving when the last Switch ended, if any:
// one that dies before an ExitWatch looked is still told as an exit.
func (s *Switcher) Served() (Proc, bool) {
	if p := s.served.Load(); p != nil {
		return *p, true
	}
	return Proc{}, false
}

func (s *Switcher) noteServed() {
	if procs, err := s.finder().Find(); err == nil && len(procs) > 0 {
		s.served.Store(&procs[0])
	} else {
		s.served.Store(nil) // none serves: never an older switch's process
	}
}
