// Package oci opens release files kept as OCI artifacts in a container
// registry (Distribution, GHCR, Harbor, GitLab, ECR), for artifacts.Fetcher
// (its Stores["oci"]).
//
// # Role
//
// A locator oci://registry/repository@sha256:<manifest digest>[?file=name]
// names a manifest pinned by digest and a layer of it: the one whose
// org.opencontainers.image.title is name, else the manifest's only layer.
// [Store.Open] fetches the manifest by digest (verified by oras-go against
// that digest), picks the layer and returns its blob as a stream with its
// size and digest; the Fetcher compares that digest with the desired one
// before reading a byte, then hashes what arrives.
//
// [Pack] and [Store.Push] are the other way, for reconciler bump: a file
// packed as oras push packs it (an empty config, one titled layer) but
// without a created annotation, so its manifest digest is a function of
// the file's digest, size and title, known before a push (a dry run) and
// the same at every push of the same file.
//
// # Invariants
//
//   - Credentials come from a docker config.json (credential helpers and
//     credsStore included), read at each Open, so a fixed config.json works
//     without a restart; basic and bearer-token auth are oras-go's
//     (auth.Client). No credential appears in an error.
//   - Plain HTTP only to a loopback host or one named in Options.Insecure:
//     such a registry is asked over HTTPS first and over HTTP when it
//     answers HTTPS with HTTP (as docker does); any other plain HTTP request
//     is refused, a redirect from https to http too.
//   - Errors carry their class: 401 and 403 wrap artifacts.ErrAccessDenied,
//     404 artifacts.ErrNotFound, a tag artifacts.ErrNotPinned; other
//     statuses are *artifacts.StoreError, transient when 5xx.
//
// # Caveats
//
//   - An image index (a multi-platform manifest list) is refused: pin the
//     platform's manifest.
//   - The registry's blob may redirect to other storage; the redirect goes
//     through the same client (its CA, its refusal of https-to-http).
//
// # Not a library
//
// This package is the reconciler's own, importable only because Go makes
// every package outside internal/ importable: its API changes with the
// command, without notice or deprecation. The one package of this module
// supported as a library is restart/graceful.
package oci
