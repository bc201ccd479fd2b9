package reconcile

import (
	"errors"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// EventKind names what an operator is told about (--notify-url); the
// words are the "event" field of the notification body in
// docs/reference.md.
type EventKind string

// Events.
const (
	EventApplied    EventKind = "applied"     // a new release switched and is healthy
	EventRolledBack EventKind = "rolled_back" // a release did not come up; the switcher put the old one back
	EventError      EventKind = "failed"      // a pass ended in an error (bad input, a fault that persists): once per distinct error; its kind reads "failed" (SPEC)
	EventUntrusted  EventKind = "untrusted"   // the head's signature is missing or not trusted
	EventDrift      EventKind = "drift"       // the directory changed by hand and was put back
	EventDeferred   EventKind = "deferred"    // outside the deploy windows: once per revision
	// Made by other parts of the agent; listed so that a notification body
	// and the docs know them.
	EventAppExited    EventKind = "app_exited"    // the app exited on its own: once per exit streak, with the count
	EventAgentUpdated EventKind = "agent_updated" // the agent runs a new release of itself
	EventAgentFailed  EventKind = "agent_failed"  // a new release of the agent could not run here
)

// Event is one notification, before it is rendered as JSON. FromVersion
// and ToVersion mean what the hooks' RECONCILER_FROM_VERSION and
// RECONCILER_TO_VERSION mean: the release before and after what the event
// reports (for rolled_back, the failed release and the one switched back
// to).
type Event struct {
	Kind        EventKind
	FromVersion string
	ToVersion   string
	Revision    string
	Rollout     string
	Error       string // the error, for failed, untrusted and rolled_back; for deferred, when the windows open; for app_exited, how it ended
	// Detail is what a program printed that the error quoted (the last
	// lines of app.log, a hook's output); emit moves it here out of Error,
	// which stays one line.
	Detail string
	Count  int // for app_exited: the exits in the streak
	Time   time.Time
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
	if ev.Detail == "" {
		ev.Error, ev.Detail = appdir.SplitOutput(ev.Error)
	}
	e.Notify.Notify(ev)
}

// failedAfter is how many passes in a row must fail on a fault of the
// surroundings (class retry) before it is told as failed: the agent
// retries such a fault within seconds (backoff 1 s, 2 s, ...), and one
// unreachable moment is no news. An error that needs a person is told at
// its first pass.
const failedAfter = 3

// tellApplied tells of a pass that ended well and changed something: a
// directory put back (drift), else a switch (applied). A pass that only
// rewrote release/current.conf, with no switch, is not news.
func (e *Engine) tellApplied(out Outcome, plan Plan, switched bool) {
	ev := Event{FromVersion: plan.from.version(), ToVersion: out.Version, Revision: out.Rev, Rollout: out.rollout()}
	switch {
	case out.drift:
		ev.Kind = EventDrift
	case switched && !plan.restartOnly():
		ev.Kind = EventApplied
	default:
		return
	}
	e.emit(ev)
}

// tellError tells of a pass that ended in err, once per distinct error
// (errorIsNews): failed, or untrusted for a commit whose signature is not
// trusted. prev is the state's last error before the pass, st the state
// after it. A release that did not come up was told as rolled_back; a
// failed revision skipped and a suspension are states, not errors.
func (e *Engine) tellError(prev *ErrorInfo, st *State, out Outcome, err error) {
	cur := st.LastError
	if err == nil || cur == nil || isUnhealthy(err) || !errorIsNews(prev, cur) {
		return
	}
	ev := Event{Kind: EventError, ToVersion: out.Version, Revision: cur.Revision, Error: cur.Message, Rollout: out.rollout()}
	if errors.Is(err, errUntrusted) {
		ev.Kind = EventUntrusted
	}
	if st.Applied != nil {
		ev.FromVersion = st.Applied.Version
	}
	e.emit(ev)
}

// rollout is the id of the rollout the pass read, "" without one.
func (out Outcome) rollout() string {
	if out.Wave == nil {
		return ""
	}
	return out.Wave.Rollout
}

// errorIsNews says whether cur, the error of this pass, is to be told given
// prev, the error of the pass before (from the state file, so it holds
// across a restart of the agent and from one `sync` to the next). An error
// that needs a person is news unless the pass before ended in the same
// error at the same revision: a bad commit is told once, not every poll;
// the next commit, or another error, is told again (an untrusted commit
// so once per revision). A fault to retry is news when it has persisted
// for failedAfter passes in a row (of any wording: a timeout and a refused
// connection are the same outage), once per such run.
func errorIsNews(prev, cur *ErrorInfo) bool {
	if cur.Class != ClassNeedsPerson {
		return cur.Passes == failedAfter
	}
	return prev == nil || prev.Class != cur.Class || prev.Message != cur.Message || prev.Revision != cur.Revision
}

// tellLocal tells of an ApplyLocal (the watcher, a hand edit): a switch
// to another release (applied), a release that did not come up
// (rolled_back), or a refused file (failed), each distinct error once
// while this engine runs. Starting the app of the release the links
// already name is no news.
func (e *Engine) tellLocal(sw localSwitch, err error) {
	ev := Event{FromVersion: sw.from.version(), ToVersion: sw.to.Version, Revision: sw.to.Revision}
	switch {
	case err == nil:
		e.localErr = ""
		if !sw.switched || (sw.from != nil && sw.from.BinFile == sw.to.BinFile && sw.from.CfgFile == sw.to.CfgFile) {
			return
		}
		ev.Kind = EventApplied
	case sw.switched && isUnhealthy(err):
		// Told as the switch back, as the on-rollback hook is.
		ev.Kind, ev.Error = EventRolledBack, err.Error()
		ev.FromVersion, ev.ToVersion = sw.to.Version, sw.from.version()
	case err.Error() == e.localErr:
		return
	default:
		e.localErr = err.Error()
		ev.Kind, ev.Error = EventError, err.Error()
	}
	e.emit(ev)
}
