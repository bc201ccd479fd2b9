// Package procfs reads what the agent and its tests need to know of a
// process from Linux's /proc: its state, parent and start time, the page
// faults of the children it reaped, its executable, its children, and
// whether it is alive, which /proc/PID/stat alone does not say (see
// Alive). It is the one reader of /proc/PID for restart, the demo, the
// test supervisor (internal/svctest) and the tests.
package procfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Stat is what the agent reads of /proc/PID/stat.
type Stat struct {
	State byte // R, S, D, Z (zombie), X (dead), ...: the thread group leader's
	PPID  int
	Start uint64 // start time in clock ticks since boot, for ordering
	// Cminflt counts the minor page faults of the children this process
	// has waited for: it jumps when the process reaps a child that ran.
	Cminflt uint64
	Flags   uint64 // the leader's PF_* flags (PF_EXITING: it is exiting)
}

// pfExiting is the kernel's PF_EXITING: the thread is on its way out (its
// memory map may already be gone).
const pfExiting = 0x4

// Exited reports whether a thread's state is the end of it: a zombie (Z)
// or dead (X).
func Exited(state byte) bool { return state == 'Z' || state == 'X' }

// ReadStat parses /proc/PID/stat. The command name is in parentheses and
// may itself hold spaces and parentheses: parse from the last ')'.
func ReadStat(pid int) (Stat, error) {
	return readStat(fmt.Sprintf("/proc/%d/stat", pid))
}

func readStat(path string) (Stat, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Stat{}, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Stat{}, errors.New("malformed /proc stat")
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return Stat{}, errors.New("short /proc stat")
	}
	ppid, _ := strconv.Atoi(fields[1])
	start, _ := strconv.ParseUint(fields[19], 10, 64)
	cminflt, _ := strconv.ParseUint(fields[8], 10, 64)
	flags, _ := strconv.ParseUint(fields[6], 10, 64)
	return Stat{State: fields[0][0], PPID: ppid, Start: start, Cminflt: cminflt, Flags: flags}, nil
}

// Alive reports whether pid runs: it exists and has not exited (a
// zombie, exited and not yet reaped by its parent, does not run).
//
// /proc/PID/stat does not say it. Its state is the thread group leader's,
// and the leader reads Z (or X) not only when the process exited but also
// while it lives on: while a thread other than the leader runs execve (a
// Go program's syscall.Exec, as the agent's start does when it runs a
// confirmed version: the kernel ends every other thread, the leader shows
// as a zombie, then the exec'ing thread takes over its pid), and when the
// leader thread exited while other threads run. /proc/PID/task does not
// list the exec'ing thread at every moment either. Taking Z for the end
// judged a live process dead (the test supervisor stopped following the
// agent, issue 26).
//
// So Alive asks the kernel whether the thread group exited, through a
// pidfd (pidfd_open(2); poll reads it when the process exited), as
// systemd follows a main pid that is not its child. At the exec's very
// moment a pidfd may read exited once (the leader's pid is being passed
// on); an exit reads so for good, so Alive looks a second time, 1ms
// later, before it believes it. Where pidfd_open is refused (a kernel
// before 5.3, a seccomp filter) it reads /proc/PID/status instead: a
// leader that exited with other threads alive is not the end.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	fd, err := unix.PidfdOpen(pid, 0)
	switch {
	case err == unix.ESRCH:
		return false // no such process
	case err != nil:
		return aliveInProc(pid)
	}
	defer unix.Close(fd)
	if !pidfdExited(fd) {
		return true
	}
	time.Sleep(time.Millisecond)
	return !pidfdExited(fd)
}

// pidfdExited reports whether the process of the pidfd fd exited.
func pidfdExited(fd int) bool {
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		return err != nil || n > 0
	}
}

// aliveInProc is Alive from /proc alone: the leader's state, and when it
// exited, whether another thread is left; read 4 times, 1ms apart, before
// a process is believed dead (see Alive).
func aliveInProc(pid int) bool {
	for try := 0; try < 4; try++ {
		if try > 0 {
			time.Sleep(time.Millisecond)
		}
		st, err := ReadStat(pid)
		if err != nil {
			return false
		}
		if !Exited(st.State) {
			return true
		}
		if n, err := threads(pid); err == nil && n > 1 {
			return true
		}
	}
	return false
}

// threads is the number of threads of pid (/proc/PID/status).
func threads(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, errors.New("no Threads: in /proc status")
}

// Exe reads /proc/PID/exe; a binary deleted since the exec reads
// "PATH (deleted)", and the suffix is stripped. While the process runs
// execve from a thread other than its leader (see Alive), the link reads
// nothing for a few ms (its leader, a zombie for that moment, has no
// memory map): Exe then waits for the new program, at most execWait.
func Exe(pid int) (string, error) {
	deadline := time.Now().Add(execWait)
	for ended := false; ; {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		switch {
		case err == nil:
			return strings.TrimSuffix(exe, " (deleted)"), nil
		case ended || !errors.Is(err, fs.ErrNotExist) || time.Now().After(deadline):
			return "", err // gone, or not ours to read (EACCES)
		case !execing(pid):
			ended = true // or the exec just ended: one more look
		default:
			time.Sleep(200 * time.Microsecond)
		}
	}
}

// execWait bounds Exe's wait for an exec to end (seen: 1 to 3 ms).
const execWait = 100 * time.Millisecond

// execing reports whether pid looks like a process in the middle of an
// exec: its leader is exiting or reads as exited, yet it is alive.
func execing(pid int) bool {
	st, err := ReadStat(pid)
	return err == nil && (Exited(st.State) || st.Flags&pfExiting != 0) && Alive(pid)
}

// Children lists the children of pid, from every thread's children file
// (the thread that forked holds the child).
func Children(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}
