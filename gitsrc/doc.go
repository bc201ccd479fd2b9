// Package gitsrc reads the desired state from the deploy repo: the commit a
// branch or tag points to (Head), that commit's objects in a local cache
// (Fetch), and files of it (ReadFile).
//
// # Role
//
// The reconciler polls: Head costs one ref listing and transfers no objects,
// so an unchanged repo costs one small request per poll. Only when the hash
// differs does the caller Fetch, and then read files at the hash Fetch
// returned.
//
// Both speak git's protocol v2 (protov2.go) where the server does, so that
// what a poll costs the git host does not grow with the repo's refs (tags,
// pull-request refs): ls-refs asks for the followed ref alone (ref-prefix),
// and the depth-1 fetch asks for its commit alone (fetchv2.go). Over HTTP
// (v2http.go) the server's capabilities are remembered from the first
// contact and a poll is one POST of a few hundred bytes (git itself spends
// a GET and a POST); over SSH and file:// (v2stream.go) git-upload-pack
// is started with GIT_PROTOCOL=version=2 (OpenSSH passes it only with
// "AcceptEnv GIT_PROTOCOL"). A server that answers in v0 is listed from
// its v0 advertisement, at the cost go-git's listing had; anything else
// not understood (a redirect, a refused lone POST, an unknown answer) falls
// back to the full exchange, then to go-git v5, which still clones and
// serves git:// and the v0 fetch. go-git v5 speaks only v0; its v6
// pre-release has a v2 client, but a v6 listing still costs two requests
// and adds 2.7 MB to the binary, where this one adds 0.1 MB. Writers
// (reconciler promote and bump) open a Branch: an in-memory clone of a
// few commits (fetched in v2 too, "deepen N"), on which they make one
// commit of one or more files (CommitFiles may add files) and push it on
// condition that the branch has not moved, or to a new branch (PushTo);
// RetryRejected is their one loop for a push refused because someone
// pushed meanwhile. VerifyCommit checks, offline in the cache, that the commit is
// signed by a trusted OpenPGP key (Trust.Keyring) or SSH key (git's
// allowed-signers format, namespace "git"); a refusal wraps ErrUnsigned,
// ErrUntrustedKey or ErrBadSignature. NewAuth builds the credentials: SSH
// keys with strict host key checking (ErrHostKey names --known-hosts), an
// HTTPS token, or a netrc entry. The package knows nothing of the reconciler; it returns errors
// (never logs) sorted by sentinel: ErrUnreachable (retry later), ErrAuth,
// ErrHostKey, ErrRepoNotFound, ErrRefNotFound (someone must fix the configuration or the
// repo), ErrFileNotFound, ErrPathEscapes, ErrFileTooLarge (bad input).
// Each sentinel carries its class (internal/errclass), and a transport's
// error is ErrUnreachable exactly when errclass calls it a network fault
// (errclass.Network) or a transient HTTP status.
//
// # Invariants
//
//   - The cache is a bare, depth-1 clone holding the followed ref only, under
//     CacheDir, or in memory when CacheDir is "" (the dry run writes nothing).
//     Every fetch passes Depth 1 and a forced refspec, because go-git without
//     Depth leaves a shallow repo pointing at a missing commit after the
//     branch was rewound (go-git #1443); a force-push is followed.
//   - A hash is returned by Fetch only after its commit and root tree were
//     read back from the cache. On any doubt the cache is replaced by a fresh
//     clone, built next to it (CacheDir+".new"), fsynced, and renamed into
//     place: the old cache serves until the new one is complete, and a crash
//     leaves a cache that is either whole or absent.
//   - go-git adds a pack per fetch and never repacks; after 20 fetches the
//     cache is cloned afresh rather than fetched into.
//   - Every remote call runs under its own deadline (Options.Timeout); a
//     silent server yields ErrUnreachable wrapping context.DeadlineExceeded.
//     The v2 SSH connection is closed when the deadline passes; go-git's
//     SSH handshake ignores it, so a listing through go-git is abandoned
//     when it passes; a go-git fetch is not, as it writes the cache.
//   - The v2 clients send what go-git's transports send (the same Auth or
//     URL credentials, CA bundle, proxy, User-Agent, host key check, dial
//     timeout), and an HTTP error status becomes go-git's own error for it,
//     so errors read as before; only the first 4 KiB of an error answer's
//     body are read (go-git's NewErr reads it all).
//   - A v2 answer is bounded: at most 100,000 refs in an ls-refs answer,
//     1,000 capabilities, 16 sections of at most 100,000 lines in a fetch
//     answer, 16 MiB of a v0 advertisement read by the v2 client. Beyond that the call fails with an error saying so; it is not
//     handed to go-git's listing, which reads without a bound.
//   - Credentials appear in no error: URLs are shown through internal/redact, the
//     transport's error text is scrubbed of the URL's and Auth's secrets, and
//     the cache's stored remote URL is the redacted one.
//   - ReadFile treats paths and symlinks as hostile: nothing it returns comes
//     from outside the commit's tree, and nothing is larger than
//     Options.MaxFileSize.
//
// # Caveats
//
//   - Trust is in keys only: the SSH principal or OpenPGP user ID is not
//     matched against the committer (as git verify-commit does not). SSH
//     validity windows are compared with the committer time, which the
//     signer sets. cert-authority and X.509 signatures are not supported.
//     Like ReadFile, VerifyCommit works on commits already in the cache.
//   - A Source is not safe for concurrent use, and one CacheDir must be used
//     by one Source at a time; the caller's directory lock provides that.
//     Shared (shared.go) is the form for several engines of one process
//     following the same repo and ref: a ref listing is shared by the polls
//     that start while it runs or within ShareWindow of its start, and one
//     cache serves them all, used by one caller at a time. A Follower
//     Handle (the agent's read of its own file after each poll) takes the
//     newest listing another Handle made since its last look, and lists
//     only when there is none.
//   - A short Ref that names both a branch and a tag means the branch
//     (git itself would pick the tag).
//   - file:// and local paths run the git binary (git upload-pack); http(s)
//     and ssh do not need it.
//   - The lone ls-refs POST relies on the server running each POST on its
//     own (stateless-rpc, as git http-backend does and gitprotocol-http
//     describes); a server that refuses it costs one refused request more
//     per poll, then the full exchange.
//   - Packs fetched into an existing cache are not fsynced (a fresh clone
//     is). A power loss may damage them: Fetch re-clones when the commit or
//     its tree is unreadable, and after a ReadFile failed to read an object
//     the next Fetch of the same Source re-clones.
//   - ReadFile can only read commits that Fetch brought into the cache (and
//     those still there from earlier fetches).
//   - go-git's own transport, used after a doubt (a redirect, a v0 server),
//     reads an HTTP error body and a v0 advertisement without a bound.
//
// # Not a library
//
// This package is the reconciler's own, importable only because Go makes
// every package outside internal/ importable: its API changes with the
// command, without notice or deprecation. The one package of this module
// supported as a library is restart/graceful.
package gitsrc
