package selfupdate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/reconciler-dev/reconciler/internal/agentdir"
	"github.com/reconciler-dev/reconciler/internal/sdnotify"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// HandoverEnv names the variable that tells a starting agent it is the
// successor of a running one, and which of its file descriptors are the
// handover's: "ready=3,go=4" and, with --listen, ",listen=5".
const HandoverEnv = "RECONCILER_AGENT_HANDOVER"

// Launch says how a successor is started: as this agent was, with its
// arguments, environment and working directory, and its listening socket.
type Launch struct {
	Args []string // the arguments after the program name (os.Args[1:])
	Env  []string // os.Environ() without HandoverEnv
	Dir  string   // the working directory; "": this process's
	// Listener returns a duplicate of the agent's listening socket (nil:
	// the agent listens on nothing).
	Listener func() (*os.File, error)
	// StopGrace is how long a successor that failed has between SIGTERM
	// and SIGKILL; 0 means 5s.
	StopGrace time.Duration
}

// failure is a successor that could not run here: its version is
// recorded failed. Other handover errors (this agent stopping, the service
// manager refusing the main pid) are not the release's fault.
type failure struct{ err error }

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// Successor is an agent started by handOver that has confirmed: it
// waits for this agent to let go of what it holds.
type Successor struct {
	Version string
	Rev     string
	cmd     *exec.Cmd
	exited  chan error
	managed bool // a service manager took its pid as the main pid
}

// PID is the successor's process id.
func (s *Successor) PID() int { return s.cmd.Process.Pid }

// handOver starts the agent binary bin as a child with the agent's
// arguments, environment and listening socket, and waits (at most
// ConfirmTimeout) for it to say it is ready: it runs here, took the
// configuration and completed a poll that reached the repo and verified
// the commit. It then moves the service's main pid to the child and tells
// it to go on. On any failure the child is stopped (SIGTERM, then SIGKILL)
// and the error is a *failure.
func (u *Updater) handOver(ctx context.Context, bin, version, rev string) (*Successor, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	goR, goW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return nil, err
	}
	defer goW.Close()
	files := []*os.File{readyW, goR}
	spec := "ready=3,go=4"
	if u.Launch.Listener != nil {
		ln, err := u.Launch.Listener()
		if err != nil {
			readyW.Close()
			goR.Close()
			return nil, fmt.Errorf("hand the listening socket over: %w", err)
		}
		defer ln.Close()
		files, spec = append(files, ln), spec+",listen=5"
	}
	cmd := exec.Command(bin, u.Launch.Args...)
	cmd.Env = append(without(u.Launch.Env, HandoverEnv, agentdir.ChosenEnv), HandoverEnv+"="+spec, agentdir.ChosenEnv+"="+version)
	cmd.Dir, cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = u.Launch.Dir, os.Stdout, os.Stderr, files
	err = cmd.Start()
	readyW.Close()
	goR.Close()
	if err != nil {
		return nil, &failure{fmt.Errorf("start agent %s: %w", version, err)}
	}
	s := &Successor{Version: version, Rev: rev, cmd: cmd, exited: make(chan error, 1)}
	go func() { s.exited <- cmd.Wait() }()
	u.Log.Info("agent update: successor started, waiting for its confirming poll", "version", version, "pid", cmd.Process.Pid, "timeout", u.ConfirmTimeout)
	if err := u.awaitReady(ctx, s, readyR); err != nil {
		u.stop(s)
		return nil, err
	}
	if err := u.commit(s, goW); err != nil {
		u.stop(s)
		return nil, err
	}
	return s, nil
}

// awaitReady waits for the successor's "ready", its exit, the confirm
// timeout or ctx.
func (u *Updater) awaitReady(ctx context.Context, s *Successor, readyR *os.File) error {
	ready := make(chan error, 1)
	go func() {
		line := make([]byte, len(readyWord))
		_, err := io.ReadFull(readyR, line)
		if err == nil && string(line) != readyWord {
			err = fmt.Errorf("said %q", line)
		}
		ready <- err
	}()
	timer := time.NewTimer(u.ConfirmTimeout)
	defer timer.Stop()
	select {
	case err := <-ready:
		if err == nil {
			return nil
		}
		select { // closed without a word: it exited, or is about to
		case werr := <-s.exited:
			s.exited <- werr
			return &failure{fmt.Errorf("agent %s exited before it confirmed: %v", s.Version, describeExit(werr))}
		case <-timer.C:
			return &failure{fmt.Errorf("agent %s closed its handover pipe without confirming", s.Version)}
		}
	case err := <-s.exited:
		s.exited <- err
		return &failure{fmt.Errorf("agent %s exited before it confirmed: %v", s.Version, describeExit(err))}
	case <-timer.C:
		return &failure{fmt.Errorf("agent %s did not confirm (run, take the configuration, poll and verify the repo) within --agent-confirm-timeout %s", s.Version, u.ConfirmTimeout)}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commit makes the confirmed successor the agent: the version is recorded
// confirmed, the service's main pid moved to it, and it is told to go on.
func (u *Updater) commit(s *Successor, goW *os.File) error {
	if err := u.Store.Confirm(s.Version); err != nil {
		return fmt.Errorf("record agent %s confirmed: %w", s.Version, err)
	}
	managed, err := sdnotify.MainPID(s.PID())
	if err != nil {
		return err // not the release's fault: this agent stays
	}
	s.managed = managed
	if _, err := goW.Write([]byte(goWord)); err != nil {
		if managed {
			_, _ = sdnotify.MainPID(os.Getpid()) // back to this agent
		}
		return &failure{fmt.Errorf("agent %s went away after it confirmed: %w", s.Version, err)}
	}
	u.Metrics.setFailed("")
	if removed, err := u.Store.Prune(u.Running, s.Version); err != nil {
		u.Log.Warn("agent update: old versions not pruned", "err", err)
	} else if len(removed) > 0 {
		u.Log.Info("agent update: old versions removed", "versions", removed)
	}
	u.Log.Info("agent update: successor confirmed; handing over", "version", s.Version, "pid", s.PID(), "service_manager", managed)
	u.notify(reconcile.Event{Kind: reconcile.EventAgentUpdated, FromVersion: u.Running, ToVersion: s.Version, Revision: s.Rev})
	return nil
}

// stop ends a successor that failed: SIGTERM, then SIGKILL after the
// grace. It signals only its own child, which it has not yet reaped.
func (u *Updater) stop(s *Successor) {
	grace := u.Launch.StopGrace
	if grace <= 0 {
		grace = 5 * time.Second
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-s.exited:
		s.exited <- err
		return
	case <-t.C:
	}
	_ = s.cmd.Process.Kill()
	err := <-s.exited
	s.exited <- err
}

// Release is the handing agent's last step, once it has let go of its
// lock and socket. Under a service manager that took the successor as
// main pid, it returns at once: this process exits, the successor is the
// service. Without one (a shell, a supervisor that knows only this pid),
// this process stays as the successor's stand-in: it passes SIGTERM,
// SIGINT and SIGHUP on to it and returns its exit (nil when it exited 0).
func (s *Successor) Release() error {
	if s.managed {
		return nil
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	for {
		select {
		case sig := <-sigs:
			_ = s.cmd.Process.Signal(sig)
		case err := <-s.exited:
			s.exited <- err
			return err
		}
	}
}

const (
	readyWord = "ready\n"
	goWord    = "go\n"
)

// without is env without the variables names.
func without(env []string, names ...string) []string {
	out := make([]string, 0, len(env)+len(names))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, name) {
			out = append(out, kv)
		}
	}
	return out
}

func describeExit(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
