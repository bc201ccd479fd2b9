// Package promote decides, from the deploy repo and Prometheus, the next
// step of a staged rollout (reconciler promote), and shows what the fleet's
// agents report (reconciler fleet).
//
// # Role
//
// A rollout block in the desired file sends a release to a share of the
// fleet (docs/reference.md, "Staged rollouts"). Decide looks at it once:
// hold, advance to the next step's percent, halt, or finish with the plain
// desired file. Promoter.Run wraps it in one read of the branch, one
// commit and one push; a push refused because someone pushed meanwhile is
// read and decided again; GitRepo is that branch on a real remote,
// through gitsrc. Nothing is remembered between runs: what a
// decision needs is in the repo (the file, and when its current wave was
// committed) or in Prometheus (what the agents and the checks said over
// the soak).
//
// # Invariants
//
//   - Missing data is never success: no agent reporting the rollout, a
//     canary not reporting it, an agent reporting no state or several, a
//     check answering nothing,
//     several series, NaN, or an error Prometheus gave for its query all
//     hold. A Prometheus that does not answer at all (down, a proxy's
//     error page, a deadline) is an error (ErrUnanswered): nothing is
//     decided and the caller exits non-zero.
//   - A halt is decided on the present only: more than max_failed hosts
//     failed, or a check's number outside its bounds (inclusive), now.
//     A bad moment in the past only restarts the soak.
//   - An advance needs every point of the soak window good: the agents'
//     series and every check read with range queries (query_range) over
//     [now-soak, now] at soak/240 steps (at least 1 s), every point with
//     data, every host reporting the file's percent (so a host that has
//     not polled since the widening commit holds it), none pending. The
//     window never reaches before the commit that made the current wave
//     (same id, version, percent, canary, halted state; see SameWave), so
//     a soak counts from when the wave was healthy, and never from before
//     it existed.
//   - The current step is the one whose percent equals the file's, or the
//     last below it (its soak applies); the next step is the first above
//     it, or 100 after the last. At 100% the next move is to finish.
//   - A halted rollout holds whatever Prometheus says: a person decides.
//   - One decision costs 1 + len(checks) Prometheus queries (Client
//     counts them); a halted rollout or a file without a rollout, none.
//
// # Caveats
//
//   - Agents are told apart by their series' labels (host_id, instance,
//     job, app): two apps rolled out under the same rollout id would be
//     judged together. Give each rollout its own id.
//   - A blip shorter than the window's step (and than the scrape
//     interval) can go unseen; checks should look over a range (rate over
//     5m), as Flagger's do.
package promote
