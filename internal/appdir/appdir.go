// Package appdir is the one source of truth for the names of an app
// directory (docs/reference.md, "The app directory") and for the link
// arithmetic on them: reconcile plans with it and restart switches with it,
// so the two cannot spell a name or resolve a link target differently. It
// also holds the Target of a switch, which reconcile hands to restart, and
// spells once what the commands run around a switch are told (Env).
package appdir

import (
	"os"
	"path/filepath"
)

// Names in an app directory.
const (
	ReleaseDir  = "release"      // every kept release, complete and verified
	BinLink     = "app.bin"      // -> release/app.<version>
	CfgLink     = "app.cfg"      // -> release/cfg.<version>
	CurrentConf = "current.conf" // in release/: the applied state
	StateDir    = ".reconciler"  // the reconciler's state, cache and lock
	PIDFile     = "app.pid"      // when the reconciler started the app
	LogFile     = "app.log"
)

// HookOutput is the file a hook's output goes to: .reconciler/hook-<name>.log.
func HookOutput(dir, hook string) string {
	return filepath.Join(dir, StateDir, "hook-"+hook+".log")
}

// Links are the links a switch moves, the binary last.
var Links = []string{CfgLink, BinLink}

// Release is dir's release directory.
func Release(dir string) string { return filepath.Join(dir, ReleaseDir) }

// LinkTarget returns the absolute, clean target of the link name in dir,
// "" when there is no link.
func LinkTarget(dir, name string) string {
	t, err := os.Readlink(filepath.Join(dir, name))
	if err != nil || t == "" {
		return ""
	}
	return Abs(dir, t)
}

// Abs resolves a link target stored in dir (relative to dir, or absolute).
func Abs(dir, target string) string {
	if target == "" {
		return ""
	}
	if filepath.IsAbs(target) {
		return filepath.Clean(target)
	}
	return filepath.Join(dir, target)
}

// Rel makes an absolute path inside dir relative to dir, the form the
// switch writes as a link target, so the directory can be moved or
// bind-mounted; other paths are returned unchanged.
func Rel(dir, abs string) string {
	if abs == "" {
		return ""
	}
	if r, err := filepath.Rel(dir, abs); err == nil && filepath.IsLocal(r) {
		return r
	}
	return abs
}

// SameTarget reports whether two link targets of dir name the same file.
func SameTarget(dir, a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	return Abs(dir, a) == Abs(dir, b)
}
