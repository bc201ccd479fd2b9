// Package appset runs one app per file of a directory, for
// `reconciler run --apps-dir DIR`: every DIR/NAME.env (NAME of
// [A-Za-z0-9_.-]+) holds the settings of the app NAME.
//
// # Role
//
// A Set keeps the running apps in step with the files: a file added starts
// its app, a file changed (its bytes) restarts it with the new content, a
// file removed stops it. What an app is and does is the caller's (Serve);
// the Set only starts, stops and reports. It also aligns the polls of the
// apps on one tick (Every, Phase), so that apps following the same deploy
// repo can share one ref listing per poll.
//
// # Invariants
//
//   - Each app runs in a goroutine of its own, and its restarts happen
//     there: an app that is slow to stop, or cannot start, holds no other
//     back. A restart stops the old run (its context ends and Serve
//     returns) before the new one starts, so the two never overlap.
//   - An app that cannot start, or stops by itself, is reported once at
//     error (again only when the error changes), shown by Apps, and
//     retried at the next rescan or reload; the others run on.
//   - The directory is watched, not the files (an atomic replace kills a
//     watch on the file), events are filtered by name and debounced, and it
//     is scanned again on a slow timer and on reload (SIGHUP), since events
//     can be lost and a watch through a symlink follows the old target.
//   - Every goroutine ends with the Set's context and is awaited by Run.
//
// # Caveats
//
//   - A file that cannot be read for a while (being written in place) may
//     restart its app twice: once with the partial content, which is
//     refused, then with the whole one. Write files by rename.
//   - A change of the directory itself (replaced by another) is seen at
//     the next rescan.
package appset
