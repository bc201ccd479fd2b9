package agentdir

import (
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/reconciler-dev/reconciler/internal/envfile"
)

// ChosenEnv marks a process that the start exec'd into a version of the
// agent dir; its value is that version. A process that has it never
// chooses again (no exec loop), and the running agent knows from it which
// version of the dir it is (GoodPoll). A handover that starts another
// version as a child sets it to that version.
const ChosenEnv = "RECONCILER_AGENT_CHOSEN"

// Settings the start reads, by their variable names (each is also a flag
// of `run`: --agent-path, --agent-dir, --env-file).
const (
	pathEnv = "RECONCILER_AGENT_PATH"
	dirEnv  = "RECONCILER_AGENT_DIR"
)

// ExecChosen is the choice at start, called first in main: when args are
// `run` with --agent-path set (flag, the --env-file's
// RECONCILER_AGENT_PATH, or the environment's), and the agent dir
// (--agent-dir, likewise, else DefaultDir) holds a confirmed version that
// can run and is not this binary, it counts the start and replaces this
// process by that version (syscall.Exec: same PID, args and environment,
// plus ChosenEnv). It returns when this binary is to run itself: no
// --agent-path, nothing confirmed, every confirmed version passed over, or
// anything going wrong (logged to stderr, one line each): a broken agent
// dir must never stop the package's binary from running.
func ExecChosen(args, environ []string, stderr io.Writer) {
	execChosen(args, environ, stderr, syscall.Exec)
}

func execChosen(args, environ []string, stderr io.Writer, exec func(string, []string, []string) error) {
	if lookup(environ, ChosenEnv) != "" || !isRun(args) {
		return
	}
	set, err := startSettings(args, environ)
	log := newLogger(set.logFormat, stderr)
	if err != nil {
		log.Warn("agent dir: settings not read; running this binary", "err", err)
		return
	}
	if set.path == "" {
		return
	}
	log = log.With("agent_dir", set.dir)
	c, ok, err := choose(set.dir)
	for _, s := range c.Skipped {
		log.Warn("agent version passed over", "version", s.Version, "err", s.Err)
	}
	if err != nil || !ok {
		log.Info("no confirmed agent version to run: running this binary", "err", err)
		return
	}
	if self, serr := os.Executable(); serr == nil && sameFile(self, c.Path) {
		return
	}
	d := &Dir{path: c.dir}
	if err := d.Started(c.Version); err != nil {
		log.Warn("agent version not started: running this binary", "version", c.Version, "err", err)
		return
	}
	log.Info("starting the agent's confirmed version", "version", c.Version, "path", c.Path)
	env := append(slices.DeleteFunc(slices.Clone(environ), func(kv string) bool { return strings.HasPrefix(kv, ChosenEnv+"=") }), ChosenEnv+"="+c.Version)
	err = exec(c.Path, args, env)
	log.Error("agent version could not be started: running this binary", "version", c.Version, "err", err)
}

type chosen struct {
	Choice
	dir string
}

func choose(dir string) (chosen, bool, error) {
	d, err := Open(dir)
	if err != nil {
		return chosen{}, false, err
	}
	c, ok, err := d.Choose()
	return chosen{Choice: c, dir: d.path}, ok, err
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// isRun reports whether args (with the program name) run `run`: its first
// word that is no flag.
func isRun(args []string) bool {
	for _, a := range args[min(1, len(args)):] {
		if a == "--" {
			return false
		}
		if !strings.HasPrefix(a, "-") {
			return a == "run"
		}
	}
	return false
}

// settings are what the start reads of the command's settings.
type settings struct {
	path, dir, logFormat string
}

// startSettings reads --agent-path, --agent-dir and --log-format as the
// command will: the command line, then --env-file's file, then the
// environment.
func startSettings(args, environ []string) (settings, error) {
	flags := flagValues(args[min(1, len(args)):], "agent-path", "agent-dir", "env-file", "log-format")
	var file map[string]string
	if f := first(flags["env-file"], lookup(environ, "RECONCILER_ENV_FILE")); f != "" {
		var err error
		if file, err = readEnvFile(f); err != nil {
			return settings{}, err
		}
	}
	value := func(flag, env string) string { return first(flags[flag], file[env], lookup(environ, env)) }
	s := settings{
		path:      value("agent-path", pathEnv),
		dir:       value("agent-dir", dirEnv),
		logFormat: value("log-format", "RECONCILER_LOG_FORMAT"),
	}
	if s.dir == "" {
		s.dir = DefaultDir(func(k string) string { return lookup(environ, k) })
	}
	return s, nil
}

// newLogger logs as the agent will (--log-format: text or json, by
// default text on a terminal and json otherwise).
func newLogger(format string, stderr io.Writer) *slog.Logger {
	if format == "" {
		format = "json"
		if f, ok := stderr.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(stderr, nil))
	}
	return slog.New(slog.NewJSONHandler(stderr, nil))
}

func readEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vars, err := envfile.Parse(path, data)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, v := range vars {
		m[v.Name] = v.Value
	}
	return m, nil
}

// flagValues finds the last value of each named flag in args, written
// --name value or --name=value (pflag's forms; the last one wins), up to
// "--".
func flagValues(args []string, names ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		for _, n := range names {
			switch {
			case strings.HasPrefix(a, "--"+n+"="):
				m[n] = strings.TrimPrefix(a, "--"+n+"=")
			case a == "--"+n && i+1 < len(args):
				m[n] = args[i+1]
				i++
			}
		}
	}
	return m
}

func lookup(environ []string, name string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], name+"="); ok {
			return v
		}
	}
	return ""
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
