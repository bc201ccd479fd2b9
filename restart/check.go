package restart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Per-attempt bounds of the checks; the health deadline bounds them too.
const (
	cmdTimeout  = 10 * time.Second
	tcpTimeout  = 2 * time.Second
	cmdWaitPipe = time.Second // how long a finished command's inherited pipes may stay open
	cmdOutMax   = 4 << 10     // output kept of a health command: its tail
	cmdOutLines = 5
)

// target is the switch the checks judge, as the health command's
// environment tells it.
type target struct {
	bin, cfg string // absolute; cfg may be ""
	from     string // the binary switched from; "" on a first start
}

// version is the release name of a release file: app.<version>.
func version(bin string) string {
	if bin == "" {
		return ""
	}
	return strings.TrimPrefix(filepath.Base(bin), "app.")
}

// env is what a health command gets on top of the process's environment.
// The switcher does not know the git revision: RECONCILER_REVISION is "".
func (s *Switcher) env(t target) []string {
	return []string{
		"RECONCILER_DIR=" + s.Dir,
		"RECONCILER_FROM_VERSION=" + version(t.from),
		"RECONCILER_TO_VERSION=" + version(t.bin),
		"RECONCILER_REVISION=",
		"RECONCILER_BIN=" + t.bin,
		"RECONCILER_CFG=" + t.cfg,
	}
}

// checks runs once every health check that is configured (URL, TCP,
// command); nil means all passed.
func (s *Switcher) checks(ctx context.Context, client *http.Client, t target) error {
	if s.HealthURL != "" {
		if err := checkHealth(ctx, client, s.HealthURL); err != nil {
			return err
		}
	}
	if s.HealthTCP != "" {
		if err := checkTCP(ctx, s.HealthTCP); err != nil {
			return err
		}
	}
	if s.HealthCmd != "" {
		return checkCmd(ctx, s.Dir, s.HealthCmd, s.env(t))
	}
	return nil
}

// checkTCP connects to addr once; nil means it accepted.
func checkTCP(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, tcpTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("health check tcp %s: %w", addr, err)
	}
	return conn.Close()
}

// checkCmd runs cmdline in dir (split on white space, no shell) in a
// process group of its own and wants exit 0. At its timeout or the health
// deadline the whole group is killed: a check that forked must not leave
// its children behind, and one whose children keep its output pipes open
// must not hang the check (WaitDelay). The group is killed after a normal
// exit too, for the same reason.
func checkCmd(ctx context.Context, dir, cmdline string, env []string) error {
	argv := strings.Fields(cmdline)
	if len(argv) == 0 {
		return errors.New("health command: empty")
	}
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out := &tailWriter{max: cmdOutMax}
	cmd.Stdout, cmd.Stderr = out, out
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
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("killed with its process group at the deadline (%s per attempt, or the health deadline): %w", cmdTimeout, err)
	}
	return fmt.Errorf("health command %q: %w%s", cmdline, err, out.tail())
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
	text := strings.TrimRight(string(bytes.ToValidUTF8(w.buf, []byte("?"))), "\n")
	if text == "" {
		return ""
	}
	lines := strings.Split(text, "\n")
	if len(lines) > cmdOutLines {
		lines = lines[len(lines)-cmdOutLines:]
	}
	return "; its last output:\n  " + strings.Join(lines, "\n  ")
}

// CheckHealthCmd refuses a health command whose program cannot be run:
// a name with a slash is taken relative to dir, as it will be run there;
// a bare name is looked up in $PATH.
func CheckHealthCmd(dir, cmdline string) error {
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
