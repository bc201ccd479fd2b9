// Package restart makes an app directory run a release: it points the
// app.bin and app.cfg links at the release files, atomically.
//
// Invariants: a link is never missing or dangling, not even for a moment;
// it is replaced by creating the new link under a unique temporary name in
// the same directory and renaming it over the old one (rename(2) is atomic),
// then the directory is fsynced so the change survives a crash. rm + ln, the
// seed's way, leaves a window in which readers see ENOENT.
//
// Caveat: `mv` without -T, and rename onto a real directory, do not replace;
// Swap refuses a directory in the link's place with a clear error.
//
// The package does not know the reconcile package: callers pass validated
// absolute paths.
package restart
