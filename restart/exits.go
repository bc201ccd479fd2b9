package restart

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/reconciler-dev/reconciler/internal/procfs"
)

// Exit is an app process of a directory that ended with no process of the
// directory serving after it: not a handover (SIGHUP: a successor serves,
// then the old process exits), not the stop of a switch.
type Exit struct {
	PID  int
	Exe  string // the binary it ran (a file of release/)
	Time time.Time
	// Known: the exit status is known (the agent started the process and
	// waited for it); Code is its exit code, Signal the signal that killed
	// it (0 when it exited by itself).
	Known  bool
	Code   int
	Signal syscall.Signal
	// LogTail is the end of app.log, "" when there is none.
	LogTail string
}

// Status says how the process ended, in words: "exit code 1", "signal 9
// (killed)", or that it is unknown (a process the agent did not start:
// only its parent learns its status).
func (x Exit) Status() string {
	switch {
	case !x.Known:
		return "unknown (not started by this agent)"
	case x.Signal != 0:
		return fmt.Sprintf("signal %d (%s)", int(x.Signal), x.Signal)
	}
	return fmt.Sprintf("exit code %d", x.Code)
}

// Reaped keeps the exit statuses of the processes a Starter started and
// reaped (their wait func), for the ExitWatch: the status of a process is
// told to its parent only, once, and the Starter's wait takes it.
type Reaped struct {
	mu      sync.Mutex
	m       map[int]syscall.WaitStatus
	started map[int]bool // pids a Starter started (and its wait reaps)
}

func (r *Reaped) start(pid int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started == nil || len(r.started) >= maxReaped {
		r.started = map[int]bool{}
	}
	r.started[pid] = true
}

// startedHere reports whether a Starter started pid: its wait reaps it.
func (r *Reaped) startedHere(pid int) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started[pid]
}

// maxReaped bounds Reaped: only the last exits matter.
const maxReaped = 64

func (r *Reaped) record(pid int, ws syscall.WaitStatus) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil || len(r.m) >= maxReaped {
		r.m = map[int]syscall.WaitStatus{}
	}
	r.m[pid] = ws
}

func (r *Reaped) take(pid int) (syscall.WaitStatus, bool) {
	if r == nil {
		return 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ws, ok := r.m[pid]
	delete(r.m, pid)
	return ws, ok
}

// ExitWatch watches the app process of a directory and reports each exit
// within a moment of it. It watches the process that serves (the youngest
// of the directory) through a pidfd (pidfd_open(2), then poll(2)), so it
// sees a process it did not start too; while none runs, it looks again
// every Idle. An exit is reported only when, listed again, no process of
// the directory runs (findAfterHandover): a handover's old process exits
// after its successor took over. An exit seen while the Switcher switches
// is left to the switch, which judges the process itself.
type ExitWatch struct {
	Dir string
	// Reaped holds the statuses of the processes the agent started (the
	// Switcher's); nil: every status is unknown.
	Reaped *Reaped
	// Switching reports a switch in progress (Switcher.Switching); nil:
	// never. Switches counts the switches ended (Switcher.Switches): when
	// it moves, the watch looks for the process at once rather than
	// after Idle, so an app that dies soon after its start is seen.
	Switching func() bool
	Switches  func() uint64
	// Served is the process serving when the last switch ended
	// (Switcher.Served): watched even when it died before the watch
	// looked.
	Served func() (Proc, bool)
	// Idle is how often to look for a process while none runs; default 1s.
	Idle time.Duration
}

// exitPoll bounds one poll(2) on the pidfd, so the watch sees its context
// end; an exit wakes it at once.
const exitPoll = 250 * time.Millisecond

// Run watches until ctx ends; each exit is sent on exits (blocking: the
// receiver is the agent's loop, which takes them promptly).
func (w ExitWatch) Run(ctx context.Context, exits chan<- Exit) error {
	f := Finder{Dir: w.Dir}
	var watched []Proc // the last processes watched: each exit is told once
	var apps []Proc    // the app processes seen, for reapOrphans
	for ctx.Err() == nil {
		seen := w.switches()
		procs, err := f.Find()
		apps = remember(apps, procs)
		w.reapOrphans(apps)
		var p Proc
		switch s, ok := w.served(); {
		case err == nil && len(procs) > 0:
			p = procs[0]
		case ok && !slices.ContainsFunc(watched, func(q Proc) bool { return q.PID == s.PID && q.Start == s.Start }):
			p = s // the switch's process, dead before this look: its exit
		default:
			w.idleWait(ctx, seen)
			continue
		}
		if watched = append(watched, p); len(watched) > 8 {
			watched = watched[1:]
		}
		x, ok := w.wait(ctx, p, apps)
		if !ok {
			continue // ctx ended, or the process could not be watched
		}
		if w.Switching != nil && w.Switching() {
			continue // the switch judges it
		}
		if next, err := f.findAfterHandover(); err == nil && len(next) > 0 {
			continue // a handover, or a switch that started another one
		}
		x.LogTail = logTail(w.Dir)
		select {
		case exits <- x:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

func (w ExitWatch) served() (Proc, bool) {
	if w.Served == nil {
		return Proc{}, false
	}
	return w.Served()
}

func (w ExitWatch) switches() uint64 {
	if w.Switches == nil {
		return 0
	}
	return w.Switches()
}

// idleWait waits Idle while no process runs, or less when a switch ends
// meanwhile (seen: the count of switches before the last look).
func (w ExitWatch) idleWait(ctx context.Context, seen uint64) {
	end := time.Now().Add(w.idle())
	for ctx.Err() == nil && time.Now().Before(end) && w.switches() == seen && (w.Switching == nil || !w.Switching()) {
		sleepCtx(ctx, idleStep)
	}
	for ctx.Err() == nil && w.Switching != nil && w.Switching() {
		sleepCtx(ctx, idleStep) // a switch brings a process: look when it ends
	}
}

// idleStep is how often an idle watch asks whether a switch ended: an
// atomic load, no look at /proc.
const idleStep = 20 * time.Millisecond

func (w ExitWatch) idle() time.Duration {
	if w.Idle <= 0 {
		return time.Second
	}
	return w.Idle
}

// wait blocks until p exits and returns how; false when ctx ended first.
func (w ExitWatch) wait(ctx context.Context, p Proc, apps []Proc) (Exit, bool) {
	fd, err := unix.PidfdOpen(p.PID, 0)
	if errors.Is(err, unix.ESRCH) {
		return w.status(ctx, p, -1), true // gone between the listing and now
	}
	if err != nil {
		sleepCtx(ctx, w.idle())
		return Exit{}, false
	}
	defer unix.Close(fd)
	if st, err := procfs.ReadStat(p.PID); err != nil || st.Start != p.Start {
		return w.status(ctx, p, fd), true // the pid was gone, or reused, before the pidfd held it
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for i := 0; ctx.Err() == nil; i++ {
		if i%4 == 3 {
			w.reapOrphans(apps) // an older process that drained and exited
		}
		n, err := unix.Poll(fds, int(exitPoll/time.Millisecond))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return Exit{}, false
		}
		if n > 0 {
			return w.status(ctx, p, fd), true
		}
	}
	return Exit{}, false
}

// status finds how p ended: from the kernel when p is the agent's child
// and not reaped yet (waitid with WNOWAIT leaves it to the Starter's
// wait), else from what that wait recorded in Reaped, else unknown.
func (w ExitWatch) status(ctx context.Context, p Proc, fd int) Exit {
	x := Exit{PID: p.PID, Exe: p.Exe, Time: time.Now()}
	if fd >= 0 {
		var info unix.Siginfo
		if err := unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED|unix.WNOWAIT, nil); err == nil {
			if !w.Reaped.startedHere(p.PID) { // adopted (BecomeSubreaper): ours to reap
				_ = unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED|unix.WNOHANG, nil)
			}
			return fromSiginfo(x, &info)
		}
	}
	// The Starter's wait may be recording it right now: give it a moment.
	for range 20 {
		if ws, ok := w.Reaped.take(p.PID); ok {
			return fromWaitStatus(x, ws)
		}
		if w.Reaped == nil {
			break
		}
		sleepCtx(ctx, 5*time.Millisecond)
	}
	return x
}

// Codes of a SIGCHLD siginfo (si_code).
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

// fromSiginfo reads si_status, the int after si_pid and si_uid in the
// union that follows the three ints of a siginfo_t.
func fromSiginfo(x Exit, info *unix.Siginfo) Exit {
	raw := (*[128]byte)(unsafe.Pointer(info))
	status := int32(binary.NativeEndian.Uint32(raw[24:28]))
	switch info.Code {
	case cldExited:
		x.Known, x.Code = true, int(status)
	case cldKilled, cldDumped:
		x.Known, x.Signal = true, syscall.Signal(status)
	}
	return x
}

func fromWaitStatus(x Exit, ws syscall.WaitStatus) Exit {
	switch {
	case ws.Exited():
		x.Known, x.Code = true, ws.ExitStatus()
	case ws.Signaled():
		x.Known, x.Signal = true, ws.Signal()
	}
	return x
}

// remember adds procs to the app processes seen, the last 32 kept.
func remember(apps, procs []Proc) []Proc {
	for _, p := range procs {
		if !slices.Contains(apps, p) {
			apps = append(apps, p)
		}
	}
	if len(apps) > 32 {
		apps = apps[len(apps)-32:]
	}
	return apps
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
