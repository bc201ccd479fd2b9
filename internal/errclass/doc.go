// Package errclass is the one answer to "whose fault is this error, and
// does waiting fix it?", shared by gitsrc, artifacts, agecfg, reconcile and
// the command.
//
// An error carries its class where it arises (as restart.UnhealthyError
// carries "unhealthy"): a sentinel made with [New], or any error type with
// an ErrorClass method ([Classed]). [Of] finds the class in the whole
// error tree; for errors that carry none, it applies the one list of
// network faults of the surroundings ([Network]) and HTTP statuses
// ([HTTPStatus]).
//
// Invariants:
//   - [NeedsPerson] anywhere in an error's tree wins over [Transient]: a
//     digest mismatch reported on a connection that was then reset still
//     needs a person.
//   - An error the caller caused by giving up (context.Canceled) is never
//     [Transient]: nothing is retried for a caller who left.
//   - [Unknown] is not "fine": the engine retries it on its backoff, but a
//     single request (a download, a webhook) is not repeated at once.
//
// The package imports only the standard library, so every other package
// may use it.
package errclass
