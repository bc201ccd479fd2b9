package restart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// Defaults of a Switcher's zero values: the agents' flags take theirs from
// here too (--health-timeout, --drain-timeout), so the two cannot differ.
const (
	DefaultHealthTimeout = 30 * time.Second
	DefaultDrainTimeout  = 5 * time.Minute
)

// Bounds of a hook.
const (
	HookTimeout = 5 * time.Minute // default of Hook.Timeout
	HookLogMax  = 16 << 10        // bytes of a hook's output logged: its tail
)

// Hook is a command run around a switch (--pre-switch, --post-switch,
// --on-rollback): in Dir, split on white space (no shell), with the switch
// in RECONCILER_* variables (appdir.Env), as the health command is.
//
// Its stdout and stderr go to a file, appdir.HookOutput (created anew for
// each run), not to a pipe: a hook that outlives the agent (SIGKILL) runs
// on to its end and its writes do not fail; the file keeps its output for a
// person to read. When the hook ends, the last HookLogMax bytes of it are
// logged, and its last lines are quoted in the error.
type Hook struct {
	Name    string        // pre-switch, post-switch or on-rollback: in logs, errors and the output file's name
	Dir     string        // the app directory, absolute
	Cmd     string        // the command line
	Timeout time.Duration // the whole process group is killed at this; default HookTimeout
	Log     *slog.Logger
}

// Run runs the hook for the switch from the binary from ("" on a first
// start) to the release to, and wants exit 0 within the timeout. When ctx
// ends first (the agent is stopping), the hook is killed too.
func (h *Hook) Run(ctx context.Context, from string, to appdir.Target) error {
	path := appdir.HookOutput(h.Dir, h.Name)
	out, err := newHookOutput(path)
	if err != nil {
		return fmt.Errorf("%s hook: %w", h.Name, err)
	}
	defer out.Close()
	timeout := h.timeout()
	start := time.Now()
	err = command{dir: h.Dir, line: h.Cmd, env: appdir.Env(h.Dir, from, to), timeout: timeout, out: out,
		deadline: fmt.Sprintf("at --hook-timeout %s", timeout), ended: "as the agent stopped"}.run(ctx)
	text := fileTail(out, HookLogMax)
	log := h.log().With("hook", h.Name, "cmd", h.Cmd, "to", appdir.Version(to.Bin), "took", time.Since(start).Round(time.Millisecond),
		"output", string(text))
	if err == nil {
		log.Info("hook ran")
		return nil
	}
	log.Error("hook failed", "err", err)
	lines := &tailWriter{max: cmdOutMax}
	_, _ = lines.Write(text)
	return fmt.Errorf("%s hook: %q: %w (output in %s)%s", h.Name, h.Cmd, err, path, lines.tail())
}

// newHookOutput creates path anew, 0600. The previous file is unlinked
// first, not truncated: a hook left running by an agent that died writes
// on into its own (unlinked) file, never into this run's.
func newHookOutput(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
}

// fileTail returns at most the last limit bytes of f (appdir.ReadTail);
// when it is cut, after a "…" line.
func fileTail(f *os.File, limit int64) []byte {
	const cut = "…\n"
	text, wasCut := appdir.ReadTail(f, int(limit)-len(cut))
	if wasCut {
		text = append([]byte(cut), text...)
	}
	return bytes.TrimRight(text, "\n")
}

func (h *Hook) timeout() time.Duration {
	if h.Timeout <= 0 {
		return HookTimeout
	}
	return h.Timeout
}

func (h *Hook) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return h.Log
}
