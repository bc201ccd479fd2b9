// Package selfupdate is the running side of the agent's updates of itself
// (run --agent-path): it follows the agent's own desired file in the
// deploy repo and hands the agent over to the release it names, never
// leaving a moment without an agent.
//
// # Role
//
// Updater.Poll, run after each of the agent's polls (Run, poked by
// Trigger), reads the agent file at the branch's head (Observe: ref
// listing, depth-1 fetch into memory, the commit verified, the file parsed
// by reconcile.ParseDesired and its rollout placed with the host id; a cfg
// is refused), installs a new version verified into the agent dir
// (package agentdir) and hands over to it (handover.go): the new binary
// starts as this process's child with its arguments, environment, working
// directory and a duplicate of its listening socket, described by
// HandoverEnv. The child (successor.go: Inherited, Handover.Confirm) parses
// its flags as any agent, completes one poll that reached the repo and
// verified the commit (taking no lock, writing nothing), and writes
// "ready". The old agent then records the version confirmed, moves the
// service's main pid (sd_notify MAINPID=), writes "go", and stops as on
// SIGTERM; the successor takes the directory's lock once it is free and
// runs. Successor.Release is the old agent's last step: under a service
// manager it returns at once; without one the old process stands in for
// the successor until it exits.
//
// When the agent file is in the app's repo and ref, Poll reads through
// Updater.Shared, the app's own git source (gitsrc.Shared): its Head is
// the head the app's poll just listed, its objects the app's cache, so a
// poll of the agent costs the git host one ref listing, not two. A
// commit's signature is checked once per commit (Poll remembers the last
// maxVerified); Observe, the successor's confirming poll, always lists,
// fetches and verifies through Repo.
//
// With a rollout block in the agent file, each Poll exports this host's
// place in it (Metrics: out, pending, applied, failed) as the app's
// rollout series with the label fleetmetrics.LabelAgent, so `reconciler
// promote --path <agent file>` judges the agent's rollout as an app's.
//
// # Invariants
//
//   - One agent is in charge at any time: the successor runs as the agent
//     only after "go", which the old agent writes only once systemd was
//     told the new main pid. A successor whose old agent goes away before
//     "go" (EOF on its go pipe) exits: the service manager starts the
//     agent again, and the start's choice (agentdir) picks the version.
//   - A successor that exits, does not confirm within ConfirmTimeout, or
//     goes away after "ready" is stopped (SIGTERM, then SIGKILL after
//     Launch.StopGrace; only this process's own child) and its version is
//     recorded failed: it is not tried again until the agent file names
//     another version (agentdir.Named) or `reconciler retry --agent`. A
//     failed download or an unreachable repo is retried at the next poll,
//     never recorded failed; a stop of the old agent during the handover
//     stops the successor and records nothing.
//   - The descriptors a successor inherits are marked close-on-exec at
//     once, and HandoverEnv is taken out of its environment: nothing it
//     starts (the app, git, hooks) inherits them.
//
// # Caveats
//
//   - tableflip is not used: it starts the new process from os.Args[0],
//     and the agent's new binary lives elsewhere (--agent-dir).
//   - MAINPID= needs a unit with Type=notify and NotifyAccess=all; it was
//     exercised against internal/svctest, which behaves as systemd
//     documents, not against systemd itself.
//   - Under run --apps-dir the caller stops every app's agent (each
//     releases its directory's lock) before Successor.Release, and the
//     successor waits for each lock in turn; this package hands over one
//     process and one socket, whatever it holds.
//   - The agent's rollout series are served by an unchecked collector:
//     the app's rollout series (same names, without the agent label)
//     share the registry under run --dir, and a registry refuses two
//     checked collectors of one name with different labels.
package selfupdate
