package restart

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	ps "github.com/mitchellh/go-ps"

	"github.com/reconciler-dev/reconciler/internal/appdir"
	"github.com/reconciler-dev/reconciler/internal/procfs"
)

// Proc is a process that belongs to an app directory.
type Proc struct {
	PID   int
	PPID  int
	Exe   string // the real binary, from /proc/PID/exe
	Start uint64 // start time in clock ticks since boot, for ordering
}

// Finder finds the app processes of one directory. Every OS read is a func,
// so tests can swap one; the defaults read /proc and use go-ps.
type Finder struct {
	Dir string // the app directory, absolute

	// Processes lists candidate processes (pid, ppid); default go-ps.
	Processes func() ([][2]int, error)
	// ReadExe returns /proc/PID/exe; default os.Readlink.
	ReadExe func(pid int) (string, error)
}

// Find returns the live processes whose executable is a file of Dir's
// release/, youngest first. The pid file (app.pid) is only a hint: a pid
// is believed only after /proc/PID/exe confirms it. go-ps names are cut to
// 15 characters and every app started the seed's way is "app.bin", so
// names are never used: a process of another directory is never returned.
func (f Finder) Find() ([]Proc, error) {
	list := f.Processes
	if list == nil {
		list = goPS
	}
	pairs, err := list()
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	if pid, ok := f.pidFile(); ok {
		pairs = append([][2]int{{pid, 0}}, pairs...)
	}
	seen := map[int]bool{}
	var out []Proc
	for _, p := range pairs {
		if seen[p[0]] || p[0] <= 0 {
			continue
		}
		seen[p[0]] = true
		if proc, ok := f.inspect(p[0]); ok {
			out = append(out, proc)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start > out[j].Start })
	return out, nil
}

// findAfterHandover is Find, made a second time when the first finds no
// process, for a handover (SIGHUP), where "none runs" is a verdict. A
// listing is no snapshot: /proc's entries are read first, then each
// process, so a successor forked after the entries were read, by a process
// that exited before it was inspected, is in neither. The second listing
// begins after the first saw the old process gone: a successor that lives
// is in it. (Seen with five agents switching at once on 2 busy cores: a
// good release taken for one that did not come up, and switched back.)
func (f Finder) findAfterHandover() ([]Proc, error) {
	procs, err := f.Find()
	if err != nil || len(procs) > 0 {
		return procs, err
	}
	return f.Find()
}

// inspect confirms that pid runs a binary of this directory and is alive.
func (f Finder) inspect(pid int) (Proc, bool) {
	readExe := f.ReadExe
	if readExe == nil {
		readExe = procfs.Exe
	}
	exe, err := readExe(pid)
	if err != nil || !f.owns(exe) {
		return Proc{}, false
	}
	st, err := procfs.ReadStat(pid)
	if err != nil || !procfs.Alive(pid) {
		return Proc{}, false // a zombie answers kill(pid, 0) but is dead
	}
	return Proc{PID: pid, PPID: st.PPID, Exe: exe, Start: st.Start}, true
}

// owns reports whether exe is a file directly in Dir/release.
func (f Finder) owns(exe string) bool {
	return filepath.Dir(exe) == appdir.Release(f.Dir)
}

func (f Finder) pidFile() (int, bool) {
	data, err := os.ReadFile(filepath.Join(f.Dir, PIDFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid, err == nil && pid > 0
}

func goPS() ([][2]int, error) {
	procs, err := ps.Processes()
	if err != nil {
		return nil, err
	}
	out := make([][2]int, 0, len(procs))
	for _, p := range procs {
		out = append(out, [2]int{p.Pid(), p.PPid()})
	}
	return out, nil
}
