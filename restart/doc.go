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
// After a switch the new release is judged by every check given (an HTTP
// URL, a TCP address, a command) and, with HealthBake, watched a while
// longer; any failure switches back and returns an UnhealthyError. A health
// command runs in a process group of its own, killed whole at its deadline
// and after it exits: a check must not leave processes behind, nor hang on
// a child that holds its output pipes.
//
// Once a link moved, getting a process onto the binary the links name (a
// SIGHUP and the wait for the new process, a start, a switch back) is a
// critical section a stop (ctx) does not cut short: it is bounded by
// DrainTimeout and HealthTimeout instead, so links and process agree when
// a stopped agent exits. The health checks and the bake are cut short by a
// stop (ctx.Err(), no verdict). Judge finishes the judgement of a switch
// that another run began: it moves links and process only where they are
// not on the release yet, then checks and bakes it from the start.
//
// Hook runs the commands of --pre-switch, --post-switch and --on-rollback
// with the same runner as the health command (process group, kill at the
// deadline, WaitDelay) and the same environment (appdir.Env); its output
// goes to a file rather than a pipe, so that a hook whose agent died runs on
// to its end without its writes failing. When to run a hook, and that it
// runs at most once, is the caller's business (reconcile records it).
//
// The app is started with default signal dispositions and an empty signal
// mask, whatever the reconciler inherited (sigreset.go: Go's os/exec has no
// option for it, and the fork must happen on a thread of its own while the
// ignored signals are handled). A `hup` switch to an app that ignores or
// blocks SIGHUP (read from /proc) fails at once with that reason. app.pid,
// when it exists, is kept naming the serving process across handovers
// (pidfile.go). A directory's first release that does not come up leaves no
// link and no process (unswitch.go): there is no release to point at.
// ExitWatch (exits.go) follows the app's serving process between
// switches through a pidfd, also one the agent did not start, and tells an
// exit within a moment of it. It tells an exit only when no process of the
// directory runs after it (a handover is none) and no switch is under way
// (a switch judges the processes it stops and starts). The status of an
// exit is known only for a process the agent started and reaped (Reaped,
// filled by the Starter's wait); every other process's status goes to its
// own parent: the successor of a SIGHUP handover is the old process's
// child, so its status is unknown (the agent is no child subreaper).
//
// The package does not know the reconcile package: callers pass validated
// absolute paths.
//
// # Not a library
//
// This package is the reconciler's own, importable only because Go makes
// every package outside internal/ importable: its API changes with the
// command, without notice or deprecation. The one package of this module
// supported as a library is restart/graceful.
package restart
