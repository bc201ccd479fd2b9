package restart

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// notePID makes app.pid name pid, the process that serves, when the file
// exists and names another one: a SIGHUP handover gives the app a new pid
// (tableflip re-execs it as its child), by the switcher or by hand, and a
// person or a script reading app.pid must find the process that serves.
// A directory without app.pid gets none: the switcher writes it when it
// starts the app itself, and an app it did not start belongs to a
// supervisor of its own (a systemd unit, with its own idea of a pid file).
// With ModeNone the process is not the switcher's business.
func (s *Switcher) notePID(pid int) {
	if s.Mode == ModeNone || pid <= 0 {
		return
	}
	data, err := os.ReadFile(filepath.Join(s.Dir, PIDFile))
	if err != nil || strings.TrimSpace(string(data)) == strconv.Itoa(pid) {
		return
	}
	if err := writePIDFile(s.Dir, pid); err != nil {
		s.log().Warn("could not update app.pid", "pid", pid, "err", err)
		return
	}
	s.log().Info("app.pid names the serving process", "pid", pid, "was", strings.TrimSpace(string(data)))
}
