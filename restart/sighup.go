package restart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrHUPRefused marks a `hup` switch whose app cannot take SIGHUP: it
// ignores it, or blocks it in every thread. Waiting for its successor is
// pointless; the app needs --restart restart (or to handle SIGHUP).
var ErrHUPRefused = errors.New("the app does not take SIGHUP")

// hupRefused says why process pid cannot act on SIGHUP ("" when it can, or
// when /proc does not say): SIGHUP in SigIgn of /proc/PID/status (an
// inherited nohup or shell trap, or signal.Ignore in the app), or in SigBlk
// of every one of its threads (a blocked signal stays pending).
func hupRefused(pid int) string {
	bit := uint64(1) << (syscall.SIGHUP - 1)
	if ign, ok := sigMask(fmt.Sprintf("/proc/%d/status", pid), "SigIgn"); ok && ign&bit != 0 {
		return "ignores SIGHUP (SigIgn of /proc/" + strconv.Itoa(pid) + "/status)"
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	for _, t := range tasks {
		if blk, ok := sigMask(t, "SigBlk"); !ok || blk&bit == 0 {
			return ""
		}
	}
	if len(tasks) == 0 {
		return ""
	}
	return "blocks SIGHUP in every thread (SigBlk of /proc/" + strconv.Itoa(pid) + "/task/*/status)"
}

// errHUPRefused is the error of a hup switch to an app that refuses SIGHUP.
func errHUPRefused(pid int, why string) error {
	return fmt.Errorf("%w: the app (pid %d) %s, so it never hands over to the new release; use --restart restart (the agent starts apps with SIGHUP at its default, so this app, or whatever started it, set it)",
		ErrHUPRefused, pid, why)
}

// sigMask reads one hex signal mask (SigIgn, SigBlk) of a /proc status file.
func sigMask(file, name string) (uint64, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, err == nil
		}
	}
	return 0, false
}
