package restart

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// PIDFile and LogFile are written in the app directory when the reconciler
// starts the app itself.
const (
	PIDFile = appdir.PIDFile
	LogFile = appdir.LogFile
)

// Starter starts the app when none runs.
type Starter struct {
	Dir  string // the app directory: the working directory of the app
	Exec string // the command line, split on white space (no shell)
	// Reaped, if set, is told the exit status the wait func reaps, for
	// an ExitWatch (which cannot learn it once the wait took it).
	Reaped *Reaped
	// Cred, optional (--app-user): the app runs as this user, groups and
	// supplementary groups. app.log stays the agent's: the app writes it
	// through the descriptor it inherits.
	Cred *syscall.Credential
}

// Start runs Exec in Dir, detached in a session of its own (so the app
// outlives the reconciler and a Ctrl-C to the reconciler's terminal does not
// reach it), output appended to app.log, pid written to app.pid. The
// app starts with default signal dispositions and an empty signal mask,
// whatever the reconciler inherited (see startClean). The returned wait
// func reaps the process: call it (in a goroutine) so that an
// app that exits after handing over to its successor does not stay a zombie
// while the reconciler runs.
func (s Starter) Start() (pid int, wait func() error, err error) {
	argv := strings.Fields(s.Exec)
	if len(argv) == 0 {
		return 0, nil, fmt.Errorf("start app: empty command")
	}
	logf, err := os.OpenFile(filepath.Join(s.Dir, LogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return 0, nil, fmt.Errorf("start app: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: s.Cred}
	if err := startClean(cmd.Start); err != nil {
		return 0, nil, fmt.Errorf("start app %q in %s: %w", s.Exec, s.Dir, err)
	}
	pid = cmd.Process.Pid
	s.Reaped.start(pid)
	wait = func() error {
		err := cmd.Wait()
		if cmd.ProcessState != nil {
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
				s.Reaped.record(pid, ws)
			}
		}
		return err
	}
	if err := writePIDFile(s.Dir, pid); err != nil {
		return pid, wait, err
	}
	return pid, wait, nil
}

func writePIDFile(dir string, pid int) error {
	tmp := filepath.Join(dir, "."+PIDFile+".tmp-"+randomHex())
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", PIDFile, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, PIDFile)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", PIDFile, err)
	}
	return nil
}
