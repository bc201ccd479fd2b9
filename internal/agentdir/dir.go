package agentdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/reconciler-dev/reconciler/internal/relversion"
)

// Binary is the file name of a release in its version directory.
const Binary = "reconciler"

// ErrUnsafe marks an agent dir that another user could write: a person
// must fix its owner or mode (a binary in it runs as the agent).
var ErrUnsafe = errors.New("agent dir is not safe")

// Dir is an opened --agent-dir.
type Dir struct {
	path string
}

// DefaultDir is the default of --agent-dir: $STATE_DIRECTORY/agent (the
// first directory when systemd gives several), else
// /var/lib/reconciler/agent.
func DefaultDir(getenv func(string) string) string {
	if s, _, _ := strings.Cut(getenv("STATE_DIRECTORY"), ":"); s != "" {
		return filepath.Join(s, "agent")
	}
	return "/var/lib/reconciler/agent"
}

// Open opens the agent dir at path, creating it (0700) and versions/ when
// missing. It refuses, with an error wrapping ErrUnsafe, a directory (or
// versions/) that is not a directory, is owned by another user, or that
// group or others can write, and one whose parent others can write without
// the sticky bit (they could put another directory in its place).
func Open(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("agent dir: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("agent dir %s: %w", path, err)
	}
	if err := checkParent(filepath.Dir(abs)); err != nil {
		return nil, err
	}
	d := &Dir{path: abs}
	for _, p := range []string{abs, d.versions()} {
		if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("agent dir: create %s: %w", p, err)
		}
		if err := checkSafe(p); err != nil {
			return nil, err
		}
	}
	unlock, err := d.lock() // creates the lock file: the layout is whole from the start
	if err != nil {
		return nil, err
	}
	unlock()
	return d, nil
}

// Path is the directory's absolute path.
func (d *Dir) Path() string { return d.path }

func (d *Dir) versions() string { return filepath.Join(d.path, "versions") }

func (d *Dir) stateFile() string { return filepath.Join(d.path, "state.json") }

func (d *Dir) lockFile() string { return filepath.Join(d.path, "lock") }

// VersionPath is where the binary of version lives (whether or not it is
// installed); an invalid version is an error wrapping relversion.ErrInvalid.
func (d *Dir) VersionPath(version string) (string, error) {
	if err := relversion.Check(version); err != nil {
		return "", fmt.Errorf("agent dir %s: version: %w", d.path, err)
	}
	return filepath.Join(d.versions(), version, Binary), nil
}

// checkSafe refuses a directory another user could write.
func checkSafe(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("agent dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("agent dir %s: %w: not a directory (mode %v)", p, ErrUnsafe, fi.Mode())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("agent dir %s: %w: owned by uid %d, not by this agent's (%d): chown it", p, ErrUnsafe, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("agent dir %s: %w: mode %v lets other users write in it: chmod go-w it (0700)", p, ErrUnsafe, fi.Mode().Perm())
	}
	return nil
}

// checkParent refuses a parent that others can write without the sticky
// bit: they could rename the agent dir away and put their own in its place.
func checkParent(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("agent dir: parent: %w", err)
	}
	if fi.Mode().Perm()&0o002 != 0 && fi.Mode()&os.ModeSticky == 0 {
		return fmt.Errorf("agent dir: %w: its parent %s (mode %v) lets every user replace it", ErrUnsafe, p, fi.Mode())
	}
	return nil
}
