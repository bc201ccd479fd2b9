package restart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// cmdWaitPipe is how long a finished command's inherited output pipes may
// stay open (held by a child it left) before Wait gives up on them.
const cmdWaitPipe = time.Second

// command is a command line run in the app directory around a switch: the
// health command, a hook. Split on white space, no shell.
type command struct {
	dir, line string
	env       []string // on top of the agent's environment
	timeout   time.Duration
	out       io.Writer // its stdout and stderr
	// deadline and ended say, in an error, why the command was killed: at
	// its own timeout, or because the caller's context ended first.
	deadline, ended string
}

// run runs c in a process group of its own and wants exit 0. At its
// timeout, or when ctx ends, the whole group is killed: a command that
// forked must not leave its children behind, and one whose children keep
// its output pipes open must not hang the caller (WaitDelay). The group is
// killed after a normal exit too, for the same reason.
func (c command) run(ctx context.Context) error {
	argv := strings.Fields(c.line)
	if len(argv) == 0 {
		return errors.New("empty command")
	}
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdout, cmd.Stderr = c.out, c.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = cmdWaitPipe
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		err = nil // exited 0; a child it left held the pipes
	}
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && c.ended != "":
		return fmt.Errorf("killed with its process group %s: %w", c.ended, err)
	case cctx.Err() != nil:
		return fmt.Errorf("killed with its process group %s: %w", c.deadline, err)
	}
	return err
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	max int
	buf []byte
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

// tail is the last lines written, for an error message; "" when none.
func (w *tailWriter) tail() string {
	return appdir.QuoteOutput("its last output", appdir.LastLines(string(w.buf), cmdOutLines))
}

// CheckCommand refuses a command line (--health-cmd, a hook) whose program
// cannot be run: a name with a slash is taken relative to dir, as it will
// be run there; a bare name is looked up in $PATH.
func CheckCommand(dir, cmdline string) error {
	argv := strings.Fields(cmdline)
	if len(argv) == 0 {
		return errors.New("empty command")
	}
	prog := argv[0]
	if strings.Contains(prog, "/") && !filepath.IsAbs(prog) {
		prog = filepath.Join(dir, prog)
	}
	if _, err := exec.LookPath(prog); err != nil {
		return fmt.Errorf("%s: %w", argv[0], errors.Unwrap(err))
	}
	return nil
}
