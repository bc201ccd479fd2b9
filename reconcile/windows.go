package reconcile

import (
	"errors"
	"fmt"
	"time"
)

// ErrDeferred means the head would deploy another release while the deploy
// windows (--window, --deny-window) are closed: the plan is computed and
// reported, nothing is downloaded or applied until they open. Like a
// suspension it is a state, not an error: no backoff, no last_error.
var ErrDeferred = errors.New("outside the deploy windows")

// Windows says when a deploy may happen (internal/window.Set).
type Windows interface {
	Open(t time.Time) bool
	// NextOpen returns the earliest time at or after t when it is open,
	// false when that is too far to find.
	NextOpen(t time.Time) (time.Time, bool)
}

// Deferred is a revision the deploy windows hold back. It is kept in the
// state file so that the deferred event is sent once per revision, across
// restarts of the agent too.
type Deferred struct {
	Revision string    `json:"revision"`
	Version  string    `json:"version"`
	Opens    time.Time `json:"opens,omitzero"` // zero: not within a year
	Since    time.Time `json:"since"`
}

// holdOutsideWindows ends the pass, planned but not applied, when it would
// deploy while the windows are closed: nothing is downloaded, nothing
// switched. What is not a deploy goes on: putting back drift of the
// applied revision, recording a commit that did not touch this app, and,
// while deferred, keeping the running release up (links, a dead app
// started again), as for a skipped failed revision.
func (e *Engine) holdOutsideWindows(p *pass) error {
	if e.Windows == nil || !p.deploys() {
		p.st.Deferred = nil
		return nil
	}
	now := e.now()
	if e.Windows.Open(now) {
		p.st.Deferred = nil
		return nil
	}
	opens, _ := e.Windows.NextOpen(now)
	if e.IgnoreWindows || e.ignoreOnce {
		if !p.dry {
			e.log().Warn("outside the deploy windows: deploying anyway, as --ignore-windows asks",
				"rev", short(p.out.Rev), "version", p.out.Version, "opens", opens)
		}
		p.st.Deferred = nil
		return nil
	}
	if p.dry {
		p.block(&blocked{Rev: p.out.Rev, Deferred: &Deferred{Revision: p.out.Rev, Version: p.out.Version, Opens: opens, Since: now}})
		return nil
	}
	e.deferPass(p, opens, now)
	if e.Switcher != nil {
		if _, err := e.applyLocal(p.ctx, p.st); err != nil {
			p.out.Result = PollError
			return fmt.Errorf("keep the running release up while revision %s is deferred: %w", short(p.out.Rev), err)
		}
	}
	return deferredError(p.out.Rev, p.out.Version, opens, now)
}

func (p *pass) deploys() bool { return deploys(p.st, p.out.Rev, p.plan) }

// deploys reports whether plan brings another release than the one the
// directory is at, for a revision other than the applied one.
func deploys(st *State, rev string, plan Plan) bool {
	if st.Applied != nil && st.Applied.Revision == rev {
		return false // drift of the applied revision: put back, not held
	}
	from := plan.from
	return from == nil || from.Version != plan.to.Version || from.BinFile != plan.to.BinFile || from.CfgFile != plan.to.CfgFile
}

// deferPass records the deferral, and tells about it once per revision.
func (e *Engine) deferPass(p *pass, opens, now time.Time) {
	d := &Deferred{Revision: p.out.Rev, Version: p.out.Version, Opens: opens, Since: now}
	if old := p.st.Deferred; old != nil && old.Revision == d.Revision {
		d.Since = old.Since
	} else {
		e.emit(Event{Kind: EventDeferred, FromVersion: p.plan.from.version(), ToVersion: d.Version, Revision: d.Revision,
			Error: fmt.Sprintf("%s; %s", ErrDeferred, opensText(opens, now)), Rollout: p.out.rollout(), Time: now})
	}
	p.st.Deferred = d
	p.out.Result, p.out.Opens, p.done = PollDeferred, opens, true
}

func deferredError(rev, version string, opens, now time.Time) error {
	return fmt.Errorf("not deploying revision %s (version %s) now: %w; %s", short(rev), version, ErrDeferred, opensText(opens, now))
}

// opensText says when the windows open, for people.
func opensText(opens, now time.Time) string {
	if opens.IsZero() {
		return "they do not open within a year"
	}
	return fmt.Sprintf("they open at %s (in %s)", opens.UTC().Format(time.RFC3339), opens.Sub(now).Round(time.Second))
}

// deferredHead returns the deferral that still holds: the revision the
// followed ref pointed at in the last poll is deferred, and that poll was
// deferred, or failed before it could tell (the git host was down).
func (s *State) deferredHead() (Deferred, bool) {
	d, lp := s.Deferred, s.LastPoll
	if d == nil || lp == nil || lp.Revision != d.Revision || (lp.Result != PollDeferred && lp.Result != PollError) {
		return Deferred{}, false
	}
	return *d, true
}
