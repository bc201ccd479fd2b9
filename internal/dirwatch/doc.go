// Package dirwatch is the one fsnotify directory watcher of the agent:
// release/ for current.conf (restart.Watcher), the apps directory
// (internal/appset) and the requests directory (reconcile.WatchRequests).
//
// It watches a DIRECTORY, never a file (an atomic replace kills a watch on
// the file), and pokes its owner, who then looks at the directory itself:
// an event is a hint, never the news. So every failure of the hint has one
// answer, the same for every owner:
//   - an overflow of the kernel's queue (events were lost) and any other
//     error of the watcher are logged and poke, so the owner looks at the
//     whole directory;
//   - the directory itself removed, or renamed away (replaced), ends its
//     watch in the kernel, and fsnotify says nothing more: the watcher
//     looks for the directory every 250 ms, watches it again once it is
//     back, and pokes (what changed while nobody watched);
//   - with Resync set, the owner is poked on that period anyway (if
//     Pending says something waits), for what no event announced.
//
// Invariants: poke is called from the Run goroutine only, and must not
// block (a buffered-1 trigger that coalesces); Run returns when ctx ends
// (nil), or when fsnotify closes its channels (an error).
package dirwatch
