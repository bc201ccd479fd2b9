// Package reconcile turns a desired state read from the deploy repo into a
// verified release in an app directory.
//
// A reconcile is a short list of steps (pass.go), after the fashion of
// Flux's source-controller: observe (the desired state at a commit, the
// actual state on disk), plan (a pure function of the two), apply (download,
// verify, write release/current.conf, hand over to the switcher).
// `reconciler diff` prints the plan and `reconciler sync` applies it: one
// code path, Diff runs the very steps of a sync in a dry mode (no download,
// no write, no signal, no event, the state a copy never saved), so what diff
// prints is what sync sets out to do, and diff says when sync would apply
// nothing (a failed revision, a suspension, closed deploy windows) and when
// it judges an unfinished switch first. What only
// doing can find out, diff cannot: a download that fails or does not match
// its digest, a downloaded binary this machine cannot run, a release that
// does not come up.
//
// Errors are sorted by what happens next, by the class each carries
// (internal/errclass; class.go): faults of the
// surroundings are retried with backoff; errors that need a person (bad
// input, auth, trust) are reported and polled again on the schedule.
//
// Invariants:
//   - The whole desired state is parsed and validated, and every conflict with
//     what is on disk (an immutable version with other bytes) is found, before
//     anything is written.
//   - release/ only ever gains complete, verified files; release/current.conf
//     and the state file are replaced atomically (temp name, fsync, rename,
//     fsync of the directory). A SIGKILL at any line leaves the directory
//     consistent and the next run finishes the job.
//   - One reconciler per directory: Lock takes an flock on .reconciler/lock,
//     which the kernel drops when the process dies, so no stale lock survives.
//
// Only a release that did not come up healthy is recorded as failed (and
// not tried again until the repo moves on, or `reconciler retry`); every
// other error is retried, by class. One error is remembered besides
// (mismatch.go): a download whose bytes do not match the pinned sha256, per
// revision and URL in the state file, so a wrong pin costs one download per
// commit, not one per poll on every host; the pass reports it from memory
// until the followed ref moves or `reconciler retry`.
//
// Hooks (hooks.go) run around a switch to another release: the pre-switch
// hook after the release is verified and before release/current.conf is
// written, the post-switch or on-rollback hook after the switch. Each run
// is saved in the state file as started before it starts and as finished
// after, so a hook runs at most once for one switch: one that a dead agent
// left started is never run again (an interrupted pre-switch hook fails its
// revision, for a person to check).
//
// A switch is judged to the end, whatever happens to the agent (judge.go):
// it is saved in the state file, judging, before any link moves; a record
// left judging by an agent that stopped or died is finished before
// anything else by the next ApplyLocal (the agent's start) or pass, also
// while suspended (Switcher.Judge: the health checks and the whole bake
// again), and its release is never taken as applied before a good verdict.
// A pass stopped (ctx) is not recorded as an error.
//
// Deploy windows (windows.go) hold a deploy, not upkeep: a pass that would
// bring another release while they are closed ends deferred, after the plan
// and before any download; drift of the applied revision is put back and a
// dead app started whatever the windows say. The Agent wakes when they
// open, so the deploy happens at the window's start.
//
// App exits (crashloop.go) come from the agent's exit watch: each is kept
// in the state file (so the crash-loop rule counts across restarts of the
// agent), logged, counted and told once per streak; the app is started
// again at once, then with backoff, and a dead app is not started by a
// pass before its backoff ends. An exit is never drift. A release whose
// app exits --crash-loop times within the window of its switch (the
// state's SwitchRecord) is failed and switched back as one that did not
// come up.
//
// The package consumes small interfaces (Repo, Downloader, Switcher,
// Verifier, Decrypter, Notifier, HookRunner); cmd/reconciler wires the
// concrete gitsrc, artifacts, restart, internal/agecfg and internal/notify
// types. Events (events.go) are told from the pass that knows them, and a
// failed pass is told once per distinct error by comparing it with the
// state's last error, so the decision survives a restart. A config whose repo path ends in .age
// is decrypted right after it is read, so everything after sees plaintext
// (digests, immutability) and only Render decides what of it is shown.
// What a pass derives from a committed file (a bin.path's digest, an .age
// config's plaintext) is kept per commit and path in a small bounded cache
// (blobcache.go): a commit's files never change, so a no-change poll
// neither hashes a large committed binary nor decrypts again. An event's
// from/to versions mean what the hooks' do (for rolled_back, the switch
// back), and an error's quoted program output goes to its Detail. It uses artifacts' file primitives directly (atomic write, install,
// digest), which have no behaviour worth a seam. The Agent runs the loop of
// `reconciler run` around an Engine (the Driven interface): one goroutine
// owns it, and schedule, webhook and watcher only poke it.
//
// A person's command reaches the agent that holds the lock through files
// (request.go), as a suspension and a retry do: `sync`, `resume` and
// `retry` write a request into .reconciler/requests/, the agent's request
// watcher pokes it, and Sync takes the waiting requests at its start and
// answers them with its outcome at its end (not when it was stopped: the
// command then does its own pass). Requests and answers are files, not a
// socket, so they need no listener, survive nothing they should not, and
// work the same for every app of `run --apps-dir`.
//
// # Words
//
// One word per idea, in names and comments alike:
//   - log: a line for slog; tell: an Event to the Notifier (emit; the
//     tell* functions of events.go decide what is news).
//   - failed, of a revision: its release did not come up, or its pre-switch
//     hook failed (State.Failed, IsFailed, markFailed): it is not applied
//     again until the repo moves on or `reconciler retry`. Every other
//     "failed" says what failed: a verdict (VerdictFailed, which fails the
//     revision), a switch's hooks record (SwitchHooks.Failed, so a new
//     switch runs them again), a rollout on this host (RolloutsFailed), a
//     pass that ended in an error (EventError, whose kind reads "failed"
//     on the wire; the poll result is "error"), an agent's self-update
//     (EventAgentFailed).
//   - origin: where a release file comes from, as people may see it (a
//     redacted URL, or path@rev): fileStep.Origin, and artifacts' target.
//   - encrypted: a config decrypted from an .age file (desiredAt.CfgEncrypted,
//     fileStep.Encrypted); a secret change is what diff shows of one
//     (Plan.cfgSecret).
//
// # Not a library
//
// This package is the reconciler's own, importable only because Go makes
// every package outside internal/ importable: its API changes with the
// command, without notice or deprecation. The one package of this module
// supported as a library is restart/graceful.
package reconcile
