package reconcile

import "time"

// EventKind names what an operator is told about (--notify-url); the
// words are the "event" field of the notification body in
// docs/reference.md.
type EventKind string

// Events.
const (
	EventApplied    EventKind = "applied"     // a new release switched and is healthy
	EventRolledBack EventKind = "rolled_back" // a release did not come up; the switcher put the old one back
	EventFailed     EventKind = "failed"      // bad input or a fault that persists: once per distinct error
	EventUntrusted  EventKind = "untrusted"   // the head's signature is missing or not trusted
	EventDrift      EventKind = "drift"       // the directory changed by hand and was put back
	EventDeferred   EventKind = "deferred"    // outside the deploy windows: once per revision
)

// Event is one notification, before it is rendered as JSON.
type Event struct {
	Kind        EventKind
	FromVersion string
	ToVersion   string
	Revision    string
	Rollout     string
	Error       string // the error, for failed, untrusted and rolled_back
	Time        time.Time
}

// Notifier is told about events. Notify must return at once: delivery,
// retries and a receiver that is down are the notifier's business, never
// the deploy's (internal/notify queues and sends in the background).
type Notifier interface {
	Notify(Event)
}

// emit hands ev to the engine's notifier, if any, stamped with the time.
func (e *Engine) emit(ev Event) {
	if e.Notify == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = e.now()
	}
	e.Notify.Notify(ev)
}
