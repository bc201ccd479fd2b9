package restart

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/procfs"
)

// upgradeWatch follows the old process during a SIGHUP handover, to see a
// failed upgrade as soon as it happens: a graceful app (tableflip) re-execs
// itself as its own child and goes on serving when that child exits before
// it is ready. Sending SIGHUP again would only start the broken binary
// again.
//
// Two signs, either enough: a child seen running a binary of release/ has
// exited; or the old process has reaped a child that ran a program (its
// cminflt, the page faults of children it waited for, jumped: a Go binary
// that starts and exits makes hundreds), the sign that still shows when the
// child lived too briefly to be seen. Go's own one-off probe child (for
// clone(CLONE_PIDFD)) makes a handful, below the bar. Neither sign counts
// once a child running something outside release/ was seen (a helper the
// app runs).
type upgradeWatch struct {
	old     int
	exe     string // the old process's binary
	f       Finder
	cminflt uint64       // the old process's cminflt when the watch began
	seen    map[int]bool // children of the old process seen alive
	execd   map[int]bool // those seen running a release binary
	other   bool         // a child ran something outside release/
}

// reapedFaults is the rise of cminflt taken for a child that ran a program.
const reapedFaults = 100

func newUpgradeWatch(f Finder, old int) *upgradeWatch {
	exe, _ := procfs.Exe(old)
	st, _ := procfs.ReadStat(old)
	return &upgradeWatch{old: old, exe: exe, f: f, cminflt: st.Cminflt, seen: map[int]bool{}, execd: map[int]bool{}}
}

// failed reports a failed upgrade: sure when a child seen running a
// release binary has exited (its pid is returned); not sure when only the
// reap sign shows (pid 0), since the old process may also have reaped a
// helper of its own it had started: the caller then gives a successor
// reapGrace to appear before it believes it.
func (w *upgradeWatch) failed() (pid int, failed, sure bool) {
	if w.exe == "" {
		return 0, false, false
	}
	now := map[int]bool{}
	for _, pid := range procfs.Children(w.old) {
		if !procfs.Alive(pid) {
			continue // gone: dealt with below
		}
		now[pid], w.seen[pid] = true, true
		if exe, err := procfs.Exe(pid); err == nil && exe != w.exe {
			if w.f.owns(exe) {
				w.execd[pid] = true
			} else {
				w.other = true
			}
		}
	}
	for pid := range w.execd {
		// A child that left the list alive was reparented: the old
		// process exited after a successful handover.
		if !now[pid] && !procfs.Alive(pid) {
			return pid, true, true
		}
	}
	if st, err := procfs.ReadStat(w.old); err == nil && !w.other && st.Cminflt >= w.cminflt+reapedFaults {
		return 0, true, false
	}
	return 0, false, false
}

// reapGrace is how long a successor has to appear after the reap sign
// alone before the upgrade is taken as failed.
const reapGrace = time.Second

// errUpgrade says a re-exec'd child exited (pid 0: it was not seen).
func (w *upgradeWatch) errUpgrade(pid int, dir string) error {
	who := "the new process"
	if pid > 0 {
		who = fmt.Sprintf("the new process (pid %d)", pid)
	}
	return fmt.Errorf("%s exited during the upgrade; pid %d goes on serving the previous release%s", who, w.old, logTail(dir))
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
	text, _ := appdir.ReadTail(f, 4096)
	lines := appdir.LastLines(string(text), logTailLines)
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = l[:300] + "…"
		}
	}
	return appdir.QuoteOutput("last lines of "+LogFile, lines)
}
