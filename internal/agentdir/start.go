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
	path, dir, err := startSettings(args, environ)
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err != nil {
		log.Warn("agent dir: settings not read; running this binary", "err", err)
		return
	}
	if path == "" {
		return
	}
	log = log.With("agent_dir", dir)
	c, ok, err := choose(dir)
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

// startSettings reads --agent-path and --agent-dir as the command will:
// the command line, then --env-file's file, then the environment.
func startSettings(args, environ []string) (path, dir string, err error) {
	flags := flagValues(args[min(1, len(args)):], "agent-path", "agent-dir", "env-file")
	var file map[string]string
	if f := first(flags["env-file"], lookup(environ, "RECONCILER_ENV_FILE")); f != "" {
		if file, err = readEnvFile(f); err != nil {
			return "", "", err
		}
	}
	path = first(flags["agent-path"], file[pathEnv], lookup(environ, pathEnv))
	dir = first(flags["agent-dir"], file[dirEnv], lookup(environ, dirEnv))
	if dir == "" {
		dir = DefaultDir(func(k string) string { return lookup(environ, k) })
	}
	return path, dir, nil
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
