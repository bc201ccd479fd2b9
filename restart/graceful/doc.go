// Package graceful serves HTTP from a process that can be replaced by a new
// binary without failing a request: the app the reconciler SIGHUPs after it
// has swapped the app.bin link. Put Run in your app's main; nothing else of
// this project is needed.
//
// # How a switch goes
//
// On SIGHUP, Run asks cloudflare/tableflip to start os.Args[0] again (start
// the app as ./app.bin, the stable link, so the new process runs the new
// release) and hands it the listening socket. The new process inherits the
// socket, serves, and reports ready; then this process hands over:
//
//  1. Every response from now on says "Connection: close", so keep-alive
//     clients finish their current request here and reconnect to the new
//     process.
//  2. It closes its own copy of the listening socket. The socket itself
//     lives on in the new process, so connections still waiting in the
//     kernel's accept queue are accepted there, not reset.
//  3. It waits until Serve has returned (every accepted connection is now
//     known, through http.Server.ConnState) and then until every connection
//     is serving a request answered with "Connection: close": none is
//     accepted-but-unread (StateNew), idle between keep-alive requests
//     (StateIdle), or busy with a response begun before step 1, which would
//     leave it open. Options.IdleGrace bounds this wait.
//  4. Only now does it call http.Server.Shutdown, which lets in-flight
//     requests finish and closes the connections; Options.DrainTimeout bounds
//     the whole handover, after which the remaining connections are closed.
//
// Step 3 is the point of the package. net/http's Shutdown drops, without an
// answer, a request it reads after Shutdown has begun: conn.serve returns
// right after readRequest when the server is shutting down. An app that calls
// Shutdown as soon as tableflip's Exit fires therefore loses the requests of
// connections it accepted a moment earlier but had not read yet: with a new
// connection per request (nginx's default towards upstreams), about one
// request per switch in cmd/exampleapp's tests. With keep-alive it closes
// connections on which the client sends its next request at that moment;
// Go's Transport retries those GETs (about two per switch there), a POST or
// a client that does not retry fails. With this package both are 0.
//
// # Invariants
//
//   - A process serves until a successor is ready: a new binary that is
//     missing, not executable, exits, or does not report ready within
//     Options.UpgradeTimeout leaves this process serving, and the failure is
//     logged.
//   - tableflip refuses to upgrade a process whose predecessor is still
//     draining ("parent hasn't exited"), and learns of the predecessor's exit
//     a moment after its pid is gone. A SIGHUP that meets this refusal waits
//     for the predecessor to exit (within Options.UpgradeTimeout) and then
//     upgrades, so it is never silently lost; if the wait runs out, the
//     refusal is logged and serving goes on. A SIGHUP to a process that is
//     itself handing over is refused ("already upgraded") and logged.
//   - Cancelling the context passed to Run (SIGTERM, SIGINT in the caller's
//     main) is a final stop: the same drain, without a successor.
//
// # Caveats
//
//   - One Run per process (tableflip allows a single Upgrader), and the
//     process should exit soon after Run returns: the successor can be
//     upgraded again only once this process has exited.
//   - A keep-alive connection that stays idle for the whole IdleGrace is
//     closed; a client that sends on it at that very moment sees the
//     connection close, the unavoidable HTTP/1.1 race that clients handle by
//     retrying idempotent requests (Go's Transport and nginx do).
//   - HTTP/1 only; hijacked connections (WebSockets) are not waited for.
//   - Never call File() or Fd() on the listener: it becomes blocking and
//     Close/Shutdown hang.
//
// # A supported library
//
// Of this module, graceful alone is supported as a library for apps to
// import: Run, Options and their documented behaviour keep working across
// releases of the reconciler. Every other package outside internal/ is the
// reconciler's own and changes with it.
package graceful
