package reconcile

import (
	"path/filepath"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// Layout is one app directory (docs/reference.md, "The app directory"):
// the methods of this file name its files and touch nothing; the others,
// each in the file of its concept, read and write the small files the
// reconciler keeps there, each write atomic: the state (state.go), the
// suspension (suspend.go), a retry (retry.go), requests and answers
// (request.go), the lock (lock.go), release/current.conf (local.go) and the
// status read of them all (status.go). The large effects (downloads, links,
// processes) are the Engine's, through its parts.
//
// One value stands for the directory everywhere (commands, agent, engine,
// status), so the names and the files they name are not split into two
// types a caller would have to keep in step.
type Layout struct {
	Dir string // absolute
}

// NewLayout returns the layout of dir, made absolute.
func NewLayout(dir string) (Layout, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Layout{}, err
	}
	return Layout{Dir: abs}, nil
}

// Release is the directory that holds every kept release.
func (l Layout) Release() string { return appdir.Release(l.Dir) }

// CurrentConf is the local, applied state that the watcher acts on.
func (l Layout) CurrentConf() string { return filepath.Join(l.Release(), appdir.CurrentConf) }

// BinFile is the absolute path of a version's binary.
func (l Layout) BinFile(version string) string {
	return filepath.Join(l.Release(), appdir.BinName(version))
}

// cfgFile is the absolute path of a version's config.
func (l Layout) cfgFile(version string) string {
	return filepath.Join(l.Release(), appdir.CfgName(version))
}

// StateDir is the reconciler's own directory (mode 0700).
func (l Layout) StateDir() string { return filepath.Join(l.Dir, appdir.StateDir) }

// stateFile holds the reconciler's state (State).
func (l Layout) stateFile() string { return filepath.Join(l.StateDir(), "state.json") }

// lockFile is flocked by the one reconciler working on the directory.
func (l Layout) lockFile() string { return filepath.Join(l.StateDir(), "lock") }

// GitCache is where the depth-1 clone of the deploy repo is kept.
func (l Layout) GitCache() string { return filepath.Join(l.StateDir(), "git") }

// BinLink and CfgLink are the stable names the app is started with.
func (l Layout) BinLink() string { return filepath.Join(l.Dir, appdir.BinLink) }

// CfgLink is the stable name of the app's config.
func (l Layout) CfgLink() string { return filepath.Join(l.Dir, appdir.CfgLink) }

// Rel returns p relative to the app dir when it is inside it, for messages.
func (l Layout) Rel(p string) string { return appdir.Rel(l.Dir, p) }
