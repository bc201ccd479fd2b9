// Package notify tells people what the reconciler did: a Sender implements
// reconcile.Notifier by POSTing each event as one JSON object to every
// --notify-url, in the background.
//
// # Role
//
// The engine calls Notify from its own goroutine, in the middle of a pass.
// Notify renders the body once (and its HMAC signature, with a secret) and
// puts it on one bounded queue per URL; it never waits for the network. One
// goroutine per URL takes its queue in order and delivers it, so a receiver
// that is down or slow holds back nothing but its own later events.
//
// # Invariants
//
//   - Notify returns at once, whatever the receivers do: it takes a mutex
//     that no goroutine holds across I/O. A full queue drops its oldest
//     event, with a log line and reconciler_notifications_total{result="dropped"}.
//   - Each request has its own deadline (Timeout). A transport error or a
//     non-2xx answer is retried with exponential backoff and jitter, up to
//     Attempts; then the event is dropped for that URL, with a log line. A
//     redirect is not followed: it is an answer other than 2xx.
//   - The body is exactly what docs/reference.md shows: every key present,
//     time in RFC 3339 UTC, text a one-line summary that Slack- and
//     Mattermost-style incoming webhooks display as it is.
//   - Close stops taking events and waits, within its context, for the
//     queues to drain; what is left when the context ends is dropped and
//     logged. So a one-shot `reconciler sync` delivers its events before it
//     exits, and a receiver that never answers delays that exit by no more
//     than the bound the caller gives Close.
//   - A URL is logged as its origin only (scheme, host, port; userinfo
//     redacted by internal/redact): incoming-webhook URLs carry their token
//     in the path. Error texts from the HTTP client are cut to their cause,
//     without the URL, and passed through redact.Text as a safety net.
//
// # Caveats
//
// Delivery is at most once per attempt and at least once only as far as the
// receiver answers 2xx: a receiver that processes a request and then times
// out may see it twice (the retry). Events are kept in memory only: what is
// queued when the process is killed is lost. The goroutines live as long as
// the context given to Start, or until Close; callers that want a flush on
// SIGTERM start the Sender with a context that the signal does not cancel.
package notify
