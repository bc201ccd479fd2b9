// Package agenthost hosts the agents of `reconciler run`: one app's
// (Loop, served as a Single) or every app of an apps dir (Apps), and the
// one set of HTTP endpoints both serve (NewServer): GET /metrics,
// GET /healthz, GET /status and POST /reconcile (?app=NAME, with an
// optional GitHub-style HMAC of the body).
//
// # Role
//
// It is the runtime of the agent command, out of package main: main parses
// the command line and the app files into settings and builds engines
// (Apps calls its OpenFunc and App.Start); this package runs them, the
// watchers beside them and the HTTP server, and says what they do. It is
// internal: it wires reconcile, gitsrc, restart and appset, which know
// nothing of each other, and is no library.
//
// # Invariants
//
//   - One endpoint set: a route or an answer is written once, in
//     NewServer, for one app and for many; a Target says what it serves.
//   - Every goroutine Loop.Run and Apps.Run start ends with their context
//     and is awaited before they return; the HTTP server is shut down
//     gracefully (shutdownGrace). Apps.Run runs the apps only: its caller
//     serves NewServer(apps, ...), so that at a self-update handover the
//     endpoint answers until every app has let go of its directory.
//   - With SelfUpdates, the agent's own status (ReportAgent) is in every
//     running app's .reconciler/agent.json, written at the app's start
//     too; without, an app's start removes an earlier agent's.
//   - One app per directory among the apps of an Apps (claimDir), and one
//     gitsrc.Shared per RepoKey, dropped when its last app stops; the app
//     that runs in a directory is recorded there (.reconciler/app), so
//     that DirStatus, which reads the files without the agent, tells it
//     from another file naming the same directory.
//   - POST /reconcile reads at most MaxWebhookBody bytes and compares the
//     signature in constant time; a refusal is logged without the body.
//
// # Caveats
//
//   - A Single has no name: POST /reconcile?app=NAME polls it whatever NAME
//     is, as before the endpoints were one set.
package agenthost
