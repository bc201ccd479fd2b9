// Package bump makes the version-bump commit of reconciler bump: it sets
// the release (version, bin, cfg) of one desired file of the deploy repo,
// commits it and pushes it.
//
// # Role
//
// CI runs bump after a build. Bumper.Run resolves the sources first
// (hashes a local copy of the uploaded bytes, streams a URL through
// sha256, reads a file to commit), then reads the branch (gitsrc's
// in-memory Branch, a few commits deep), plans the edit with a pure
// function (makePlan: what --dry-run prints is what would be pushed),
// commits and pushes. A push rejected because the branch moved is read and
// planned again through gitsrc.RetryRejected, the loop promote uses too.
//
// # Invariants
//
//   - Only the values that change are edited (internal/jsonedit): key
//     order, indentation, spacing and the final newline of the file stay.
//     The edited file is parsed as agents parse it, and must say what was
//     meant, before anything is committed.
//   - A version the file names, at the head or in the history read (top
//     level or rollout.from), with another artifact is refused
//     (ErrImmutable); a URL artifact is compared by digest, a repo file by
//     path; a repo file that exists with other bytes is refused too.
//   - Nothing changes, nothing is committed: the same bump again is a
//     success with NoChange.
//   - After a rejected push, a file whose version, bin, cfg or rollout
//     changed since the first read stops the bump with ErrConflict and
//     nothing is pushed; any other change (other files, other apps) is
//     built on. A bump that finds its own release already there (another
//     run made it) ends with NoChange.
//   - Mistakes of the command line are *UsageError (the caller exits 2);
//     the rest carry their parts' sentinels.
//
// # Caveats
//
//   - The immutability check sees only the history read (Request.History
//     commits); agents still refuse a changed artifact under a version
//     they hold, whatever the repo's history.
//   - The desired file must exist: bump edits, it does not create.
//   - An OCI source (--bin-oci REF --bin-file FILE) is packed locally
//     (artifacts/oci.Pack: no created annotation, so the manifest digest
//     is known without a registry) and pushed only after the plan passed
//     (immutability, conflict, no-op) and before the commit: a dry run,
//     a refused bump or a bump with nothing to change pushes nothing, and
//     no commit names a digest the registry lacks. A push that is made
//     and then followed by a failed commit leaves the artifact in the
//     registry, unpinned (harmless: the next bump pushes the same digest).
package bump
