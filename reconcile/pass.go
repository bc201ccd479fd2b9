package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/reconciler-dev/reconciler/artifacts"
)

// pass is one Sync on its way through the steps. Each step reads what the
// earlier ones filled in and adds its own; the first step that returns an
// error, or marks the pass done (nothing left to do), ends it. After
// Flux's source-controller: a reconcile is a short list of small steps,
// each tested on its own.
//
// Diff runs the same steps dry: each step decides as in a sync and acts on
// nothing (no download, no disk write, no signal, no event; the state is a
// copy never saved). A step that would end the sync without applying
// (a failed revision, a suspension, closed windows) records why in
// blocked instead, and the dry pass goes on to plan what is held, so diff
// shows it; nothing after a block is applied, dry or not.
type pass struct {
	ctx  context.Context
	st   *State // loaded by Sync, saved by Sync whatever happens; Diff's copy, never saved
	out  Outcome
	head string
	src  desiredAt
	plan Plan
	done bool
	dry  bool // Diff's pass

	blocked *blocked      // dry: why the sync would apply nothing (the first step that said so)
	judging *SwitchRecord // dry: a switch the sync judges first
}

type stepFunc func(e *Engine, p *pass) error

// steps of a pass, in order.
var steps = []stepFunc{
	(*Engine).cleanTemp,
	(*Engine).settleInterruptedHooks,
	(*Engine).finishInterruptedJudgement,
	(*Engine).findHead,
	(*Engine).skipFailedHead,
	(*Engine).readDesired,
	(*Engine).planPass,
	(*Engine).holdIfSuspended,
	(*Engine).holdOutsideWindows,
	(*Engine).stopIfInSync,
	(*Engine).applyPass,
}

func (e *Engine) sync(ctx context.Context, st *State) (Outcome, error) {
	p := &pass{ctx: ctx, st: st, out: Outcome{Result: PollError}}
	err := e.run(p)
	return p.out, err
}

// run runs the steps of p in order, until one fails or ends the pass.
func (e *Engine) run(p *pass) error {
	for _, s := range steps {
		if err := s(e, p); err != nil || p.done {
			return err
		}
	}
	return nil
}

// block ends a sync that applies nothing; a dry pass records the first
// reason and goes on planning.
func (p *pass) block(b *blocked) {
	if p.blocked == nil {
		p.blocked = b
	}
}

// cleanTemp removes what a killed run left in release/.
func (e *Engine) cleanTemp(p *pass) error {
	if p.dry {
		return nil
	}
	if _, err := artifacts.CleanTemp(e.Layout.Release()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("clean temporary files: %w", err)
	}
	return nil
}

// settleInterruptedHooks fails the revision of a pre-switch hook that a
// dead agent left unfinished, before anything would run it again.
func (e *Engine) settleInterruptedHooks(p *pass) error {
	if p.dry {
		p.st.settleInterrupted(e.now(), e.Layout.Dir)
		return nil
	}
	e.settleHooks(p.st)
	return nil
}

// finishInterruptedJudgement finishes the judgement of a switch a stopped
// or killed agent left (finishJudgement) before anything of the repo is
// read: no network is needed for it. A release switched back ends the pass
// with its error, as the pass that switched would have. A dry pass
// cannot tell the verdict: it records that the sync judges first.
func (e *Engine) finishInterruptedJudgement(p *pass) error {
	if p.dry {
		r, dropped := e.judgementDue(p.st)
		if dropped {
			p.st.Switch = nil
		}
		p.judging = r
		return nil
	}
	_, err := e.finishJudgement(p.ctx, p.st)
	if isUnhealthy(err) {
		p.out.Rev, p.out.Version = p.st.Switch.Revision, p.st.Switch.To.Version
	}
	return err
}

// findHead asks where the followed ref points (one small request), and
// takes a person's request to retry a failed revision.
func (e *Engine) findHead(p *pass) error {
	head, err := e.Repo.Head(p.ctx)
	if err != nil {
		return err
	}
	p.head = head
	p.st.forgetMismatches(func(rev string) bool { return rev != head })
	if p.dry {
		p.st.retry(e.Layout.retryAsked()) // the request stays for the sync
		return nil
	}
	if rev := e.Layout.takeRetry(p.st); rev != "" {
		e.log().Info("retrying a failed revision, as `reconciler retry` asked", "rev", short(rev))
	}
	return nil
}

// skipFailedHead ends the pass when the head failed before.
func (e *Engine) skipFailedHead(p *pass) error {
	f, ok := p.st.IsFailed(p.head)
	if !ok {
		return nil
	}
	if p.dry {
		p.block(&blocked{Rev: p.head, Failed: &f})
		return nil
	}
	var err error
	p.out, err = e.skipFailed(p.ctx, p.st, p.head, f)
	p.done = true
	return err
}

// readDesired fetches the head (verifying its signature first, if asked)
// and reads and validates the desired state at it. Fetch may bring a later
// revision than the listed head (a push in between): that one is applied,
// so that one is checked against the failed revisions.
func (e *Engine) readDesired(p *pass) error {
	p.out.Rev = p.head
	rev, err := e.fetchVerified(p.ctx, p.head)
	if err != nil {
		return err
	}
	p.out.Rev = rev
	if rev != p.head { // the ref moved since the listing: judge what is applied
		p.head = rev
		if err := e.skipFailedHead(p); err != nil || p.done {
			return err
		}
	}
	p.src, err = e.readDesiredAt(p.ctx, rev, p.st)
	p.out.Wave, p.out.desiredRead = p.src.Wave, err == nil
	return err
}

// planPass observes the directory and plans.
func (e *Engine) planPass(p *pass) error {
	act := e.observeActual(p.src, *p.st) // the state Sync loaded: read once per pass
	plan, err := e.makePlan(p.src, act)
	p.plan = plan
	p.out.Version, p.out.plan = p.src.Desired.Version, plan
	return err
}

// holdIfSuspended ends the pass, planned but not applied, while a person
// has taken manual control.
func (e *Engine) holdIfSuspended(p *pass) error {
	if p.st.Suspended == nil {
		return nil
	}
	if p.dry {
		p.block(&blocked{Rev: p.out.Rev, Suspended: p.st.Suspended})
		return nil
	}
	p.out.Result = PollSuspended
	return fmt.Errorf("%w (%s): not applying revision %s", errSuspended, p.st.Suspended.Reason, short(p.out.Rev))
}

// stopIfInSync ends the pass when the directory already is what the
// revision says.
func (e *Engine) stopIfInSync(p *pass) error {
	if !p.dry {
		e.lastConf = &p.plan.to
	}
	if p.plan.Changes() || p.plan.writeConf || p.plan.repairs() {
		return nil
	}
	p.out.Result, p.done = PollUnchanged, true
	return nil
}

// applyPass applies the plan, with the hooks around the switch; a release
// that does not come up is recorded failed and release/current.conf put
// back; a good switch prunes. A dry pass applies nothing: it only says
// the error a sync would meet before any download (a download refused
// before).
func (e *Engine) applyPass(p *pass) error {
	rev, plan, st := p.out.Rev, p.plan, p.st
	if p.dry {
		if p.blocked != nil {
			return nil
		}
		return e.refusedBefore(plan, st, rev)
	}
	if st.Applied != nil && st.Applied.Revision == rev && plan.handChanged() {
		// An app that exited is no drift (AppExited tells of it): only
		// links, release/current.conf or release files changed by hand.
		p.out.drift = true
		e.log().Warn("drift: the directory changed by hand; putting it back", "rev", short(rev), "version", p.out.Version,
			"links", len(plan.links), "write_conf", plan.writeConf, "repairs", plan.repairs(), "app_stale", plan.appStale)
	}
	st.Attempted = &Attempted{Revision: rev, Version: p.out.Version, Time: e.now()}
	hs := e.hooked(plan, st)
	switched, err := e.apply(p.ctx, plan, st, hs)
	switch {
	case switched && err == nil && !plan.restartOnly():
		e.Metrics.switched(true)
	case switched && isUnhealthy(err):
		e.Metrics.switched(false)
		st.markFailed(Failed{Revision: rev, Version: p.out.Version, Reason: err.Error(), Time: e.now()})
		if plan.from == nil {
			e.dropConf(p.out.Version)
		} else {
			e.restoreConf(plan.from)
		}
		e.lastConf = plan.from
		// Told as the switch back, as the on-rollback hook is: from the
		// failed release to the one running again.
		e.emit(Event{Kind: EventRolledBack, FromVersion: p.out.Version, ToVersion: plan.from.version(), Revision: rev, Error: err.Error(), Rollout: p.out.rollout()})
	}
	if switched {
		e.afterSwitch(p.ctx, st, hs, err)
	}
	if err != nil {
		return err
	}
	if switched && e.Keep > 0 {
		e.prune(plan, st)
	}
	p.out.Result = PollApplied
	e.tellApplied(p.out, plan, switched)
	return nil
}

// handChanged reports whether the directory differs from the plan's
// release in what only a hand changes: links, release/current.conf,
// release files. An app that is down is not in it.
func (p Plan) handChanged() bool {
	if len(p.links) > 0 || p.writeConf {
		return true
	}
	for _, s := range p.steps {
		if s.Action != reuseAction {
			return true
		}
	}
	return false
}

// restartOnly reports whether the plan only starts the app of the release
// that is in place: no switch, and no news (the exit was told by
// AppExited).
func (p Plan) restartOnly() bool {
	return p.appStale && !p.handChanged() && p.from != nil && p.from.BinFile == p.to.BinFile && p.from.CfgFile == p.to.CfgFile
}
