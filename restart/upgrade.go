package restart

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// upgradeWatch follows the children of the old process during a SIGHUP
// handover, to see a failed upgrade as soon as it happens: a graceful app
// (tableflip) re-execs itself as its own child and goes on serving when that
// child exits before it is ready. A child that exec'd another binary
// (usually the new release) and exited while no successor was found is a
// failed upgrade, and sending SIGHUP again would only start the broken
// binary again. Children that never exec (Go forks one once per process to
// probe clone(CLONE_PIDFD)) are not upgrades.
type upgradeWatch struct {
	old   int
	exe   string       // the old process's binary
	execd map[int]bool // children seen running another binary
}

func newUpgradeWatch(old int) *upgradeWatch {
	exe, _ := procExe(old)
	return &upgradeWatch{old: old, exe: exe, execd: map[int]bool{}}
}

// failed returns the pid of an exec'd child that has exited.
func (w *upgradeWatch) failed() (int, bool) {
	if w.exe == "" {
		return 0, false
	}
	now := map[int]bool{}
	for _, pid := range procChildren(w.old) {
		now[pid] = true
		if exe, err := procExe(pid); err == nil && exe != w.exe {
			w.execd[pid] = true
		}
		if !w.execd[pid] {
			continue
		}
		if st, err := readStat(pid); err == nil && (st.state == 'Z' || st.state == 'X') {
			return pid, true
		}
	}
	for pid := range w.execd {
		// A child that left the list alive was reparented: the old
		// process exited after a successful handover.
		if !now[pid] && !Alive(pid) {
			return pid, true
		}
	}
	return 0, false
}

// Following a handover right after a SIGHUP: the re-exec'd child appears
// at fork and, when its binary is broken, is gone a few milliseconds
// later, too fast for the switch's 10 ms poll.
const (
	followTick = time.Millisecond
	followFor  = 500 * time.Millisecond
	followUp   = 50 * time.Millisecond // a child up this long is starting well
)

// follow watches the children closely for a while after a SIGHUP, until a
// child has been up for followUp, one has exited (a failed upgrade: its pid
// is returned), or followFor has passed.
func (w *upgradeWatch) follow(ctx context.Context) (int, bool) {
	t := time.NewTicker(followTick)
	defer t.Stop()
	start := time.Now()
	first := map[int]time.Time{}
	for time.Since(start) < followFor {
		if pid, failed := w.failed(); failed {
			return pid, true
		}
		for pid := range w.execd {
			if _, ok := first[pid]; !ok {
				first[pid] = time.Now()
			}
			if time.Since(first[pid]) >= followUp {
				return 0, false
			}
		}
		select {
		case <-ctx.Done():
			return 0, false
		case <-t.C:
		}
	}
	return 0, false
}

// procChildren lists the children of pid, from every thread's children
// file (the thread that forked holds the child).
func procChildren(pid int) []int {
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

// logTailLines is how much of app.log an error quotes.
const logTailLines = 5

// logTail returns the last lines of the app's log in dir, for an error
// message: the app usually says there why it did not come up. "" when the
// reconciler did not start the app (no app.log) or it is empty.
func logTail(dir string) string {
	f, err := os.Open(filepath.Join(dir, LogFile))
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 4096
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-window, 0)
	buf := make([]byte, fi.Size()-off)
	n, _ := f.ReadAt(buf, off)
	lines := strings.Split(strings.TrimRight(string(bytes.ToValidUTF8(buf[:n], []byte("?"))), "\n"), "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // the first may be cut
	}
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = l[:300] + "…"
		}
	}
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	return "; last lines of " + LogFile + ":\n  " + strings.Join(lines, "\n  ")
}
