// Package agentdir is the agent's own store of releases, --agent-dir: the
// versions of reconciler that the deploy repo declared for this host, each
// installed verified, and a small record of what became of them.
//
//	DIR/                      0700, owned by the agent's user, writable by nobody else
//	DIR/lock                  flock held for each change of the record
//	DIR/state.json            the record (see below), written atomically
//	DIR/versions/V/reconciler a release, 0755, its sha256 checked before it runs
//
// The record holds the confirmed versions in the order they were confirmed
// (the last is the newest: a `git revert` of the agent file confirms the
// older version again and makes it the newest), the failed versions with
// their reason, the version the agent file names, and the number of starts
// in a row of the version last started without a good poll.
//
// Several processes use one directory: the package's /usr/bin/reconciler
// choosing at start (Choose, Started), the running agent (Install,
// Confirm, Fail, GoodPoll, Prune), its successor during a handover, and
// `reconciler retry --agent` (Retry). Every change is a read, a change and
// an atomic write of state.json under the exclusive flock of DIR/lock, so
// none is lost and no reader sees half a record; readers read the file
// afresh each time (no cache), so a change by another process is seen at
// once. The lock is held for a few file operations, never across a
// download; the kernel releases it when its holder dies.
//
// Invariants: a file under versions/ is only ever put in place by a rename
// after its sha256 was checked (artifacts.InstallReader and Fetch), so a
// SIGKILL at any moment leaves either no file or a whole verified one, and
// at most a temp file that the next Install of that version removes. A
// version is confirmed only once installed (its sha256 is recorded at
// install and checked again before it is chosen). Version strings come from
// the deploy repo and are hostile: each is checked with internal/relversion
// (one path component, never "." or "..") before it names anything on disk.
//
// The choice at start (Choose) takes the newest confirmed version; one that
// was started MaxStarts times in a row without a good poll, whose file is
// missing, changed, not executable or for another architecture, is passed
// over for the previous confirmed one: it is recorded failed and removed
// from the confirmed list, so that it is never chosen again until a
// handover confirms it anew. Whatever goes wrong, the caller runs its own
// binary (the package's): the choice never makes a crash loop of its own.
// ExecChosen does the whole start: called first in main, it replaces the
// process by the chosen version (same PID, so systemd sees no change).
package agentdir
