// Package artifacts puts release files into a directory, verified by
// sha256 and atomically: it downloads them (http, https, file URLs, and
// through a [Store] OCI registries and S3 buckets: packages artifacts/oci
// and artifacts/s3) or writes given bytes, and never leaves a partial or
// unverified file behind.
//
// # Role
//
// The reconciler names each artifact of a release by URL and digest in the
// desired-state file. [Fetcher.Fetch] makes release/<name> hold exactly those
// bytes; [Install] does the same for bytes the caller already holds (config
// files from the deploy repo) and [InstallReader] for bytes it streams (a
// binary committed to the deploy repo). [WriteFileAtomic] serves the
// caller's own state files, and [CleanTemp] removes what a killed run left.
//
// # Invariants
//
//   - A file appears under its final name only complete, verified, fsynced
//     and renamed into place, with the directory fsynced after the rename.
//     Data is first streamed into a temp file in the same directory, named
//     TempPrefix + name + TempInfix + random (".app.2.0.tmp-123"); every
//     failure path removes it.
//   - A released file is immutable: an existing file with the wanted digest
//     is reused (nothing is downloaded: a rollback to a kept release costs no
//     network), one with another digest is an error wrapping [ErrImmutable],
//     and nothing is replaced. On Linux the final rename uses
//     RENAME_NOREPLACE, so even a file that appears during the download is
//     never overwritten.
//   - The digest is computed while streaming (one pass, constant memory) and
//     the size limit is enforced while streaming, so a hostile or broken
//     server cannot fill the disk beyond MaxSize+1 bytes.
//   - A Store only opens a stream (Fetcher.Stores, by locator scheme);
//     verifying, bounding, retrying and placing are the Fetcher's, the same
//     for every source. A digest the store announces (an OCI layer's) is
//     compared with the wanted one before a byte is read. Store errors carry
//     their class: [StoreError] wraps [ErrAccessDenied] (401, 403) or
//     [ErrNotFound] (404), which need a person, and is transient for 5xx;
//     [ErrNotPinned] marks an OCI tag.
//   - Errors say what was being done and name the URL with its credentials
//     redacted: userinfo becomes "xxxxx" and query values (presigned-URL
//     signatures, tokens) become "xxxxx". Errors wrap sentinels for the
//     caller to branch on with errors.Is; every sentinel and error type
//     carries its class (internal/errclass), and [IsTransient] is that one
//     rule's "retry at once". A digest mismatch is a
//     [*DigestError] (errors.As): both digests and the bytes it cost, so
//     the caller can remember the refusal instead of downloading again.
//
// # Caveats
//
//   - The target directory must exist; Fetch and Install do not create it.
//   - A custom [Fetcher.Client] must refuse https-to-http redirects itself:
//     use [NewClient], or set [RefuseDowngrade] as its CheckRedirect.
//   - CleanTemp must not run while a Fetch or Install writes into the same
//     directory (the caller holds a lock on its app dir for that).
//   - The existence check and the rename fall back to check-then-rename on
//     filesystems without RENAME_NOREPLACE; the caller's lock covers the gap.
//   - A file:// URL reads any file the process may read; its bytes still have
//     to match the wanted digest.
//   - An existing file that is reused keeps its mode; mode applies to new files.
//
// # Not a library
//
// This package is the reconciler's own, importable only because Go makes
// every package outside internal/ importable: its API changes with the
// command, without notice or deprecation. The one package of this module
// supported as a library is restart/graceful.
package artifacts
