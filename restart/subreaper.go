package restart

import (
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/reconciler-dev/reconciler/internal/procfs"
)

// BecomeSubreaper makes this process the child subreaper of its
// descendants (prctl PR_SET_CHILD_SUBREAPER): an app process orphaned at a
// SIGHUP handover (the successor is the old process's child) is reparented
// here rather than to init, so its exit status is known. Orphans must then
// be reaped here: an ExitWatch reaps the app processes of its directory;
// any other orphan (what a hook left behind and killed) stays a zombie
// until the agent exits.
func BecomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// reapOrphans reaps this process's zombie children that are app processes
// the watch saw (pid and start time) and that no Starter started (those
// are reaped by the Starter's wait, and their status recorded there).
func (w ExitWatch) reapOrphans(seen []Proc) {
	for _, pid := range procfs.Children(os.Getpid()) {
		st, err := procfs.ReadStat(pid)
		if err != nil || procfs.Alive(pid) || w.Reaped.startedHere(pid) {
			continue
		}
		if slices.ContainsFunc(seen, func(p Proc) bool { return p.PID == pid && p.Start == st.Start }) {
			var ws unix.WaitStatus
			_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
	}
}
