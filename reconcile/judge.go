package reconcile

import (
	"context"
	"time"

	"github.com/reconciler-dev/reconciler/internal/appdir"
)

// Verdict is where the judgement of a switch stands.
type Verdict string

// Verdicts of a SwitchRecord.
const (
	// VerdictJudging: the links move (or moved) to the release and it has
	// not yet proved itself (up within --health-timeout, then through
	// --health-bake). A record left judging by an agent that stopped is
	// finished by the next one: never taken as applied.
	VerdictJudging Verdict = "judging"
	// VerdictGood: the release came up healthy and baked.
	VerdictGood Verdict = "good"
	// VerdictFailed: the release did not come up, or failed its bake or
	// the crash-loop rule; the previous release was put back.
	VerdictFailed Verdict = "failed"
)

// SwitchRecord is the state file's record of the last switch to another
// release: written, judging, before any link moves, so that the judgement
// survives the agent (SPEC: "A release is judged to the end, whatever
// happens to the agent"); its verdict is written when reached. It is kept
// after the verdict: the crash-loop rule counts the exits of a release
// within a while of its switch, and needs the release to put back.
type SwitchRecord struct {
	// Revision is the deploy repo's revision of To ("" for a hand edit).
	Revision string `json:"revision,omitempty"`
	// To is the release switched to; From what ran before (nil on the
	// first release of a directory: there is nothing to put back).
	To   LocalConf  `json:"to"`
	From *LocalConf `json:"from,omitempty"`
	// Started is when the switch began (before the links moved).
	Started time.Time `json:"started"`
	Verdict Verdict   `json:"verdict"`
	// Judged is when the verdict was reached (zero while judging).
	Judged time.Time `json:"judged,omitzero"`
	// Reason says why a release failed.
	Reason string `json:"reason,omitempty"`
}

// beginSwitch records, and saves before anything moves, that the switch
// from → to is being judged. A switch onto the release the last record
// names already (the app started again, links put back) keeps that
// record: the release's judgement, and its time, are the first switch's.
func (e *Engine) beginSwitch(st *State, rev string, to LocalConf, from *LocalConf) error {
	if r := st.Switch; r != nil && r.To == to && r.Verdict != VerdictFailed {
		return nil
	}
	st.Switch = &SwitchRecord{Revision: rev, To: to, From: from, Started: e.now(), Verdict: VerdictJudging}
	return e.Layout.saveState(*st)
}

// endSwitch records the verdict of the switch being judged; the caller
// saves the state.
func (e *Engine) endSwitch(st *State, switchErr error) {
	r := st.Switch
	if r == nil || r.Verdict != VerdictJudging {
		return
	}
	switch {
	case switchErr == nil:
		r.Verdict = VerdictGood
	case isUnhealthy(switchErr):
		r.Verdict, r.Reason = VerdictFailed, switchErr.Error()
	default:
		return // not judged (stopped, a drain to wait for): still judging
	}
	r.Judged = e.now()
}

// finishJudgement finishes the judgement of a switch that an agent began
// and did not finish (stopped or killed: st.Switch left judging), before
// anything else of a pass or of ApplyLocal, so an unjudged release is never
// taken as applied. When the links never moved and release/current.conf
// no longer names the release, the switch is no longer wanted and is
// dropped; otherwise the switcher judges the release (moving the links and
// the process first if they did not move), from the start of its health
// checks and bake. A good release ends applied; one that fails is switched
// back to the record's From and recorded failed, release/current.conf put
// back, the rolled_back event and the on-rollback hook as after any switch
// back. It reports whether the state changed; its error is the
// switcher's: an UnhealthyError for a release switched back, or another
// (a stop, a drain) that leaves the record judging for the next try.
func (e *Engine) finishJudgement(ctx context.Context, st *State) (bool, error) {
	r, dropped := e.judgementDue(st)
	if dropped {
		e.log().Warn("a switch the last agent began is no longer wanted: release/current.conf changed and the links never moved; dropped",
			"version", st.Switch.To.Version, "rev", short(st.Switch.Revision))
		st.Switch = nil
		return true, nil
	}
	if r == nil {
		return false, nil
	}
	e.log().Warn("finishing the judgement of a switch the last agent did not finish", "version", r.To.Version,
		"rev", short(r.Revision), "from", r.From.version(), "started", r.Started)
	to := appdir.Target{Bin: r.To.BinFile, Cfg: r.To.CfgFile, Revision: r.Revision}
	var from appdir.Target
	if r.From != nil {
		from = appdir.Target{Bin: r.From.BinFile, Cfg: r.From.CfgFile, Revision: r.From.Revision}
	}
	e.forgetSeen()
	err := e.Switcher.Judge(ctx, to, from)
	e.endSwitch(st, err)
	if r.Verdict == VerdictJudging {
		return false, err // not judged: the next pass or agent tries again
	}
	e.judged(ctx, st, r, err)
	return true, err
}

// judgementDue returns the switch an agent left judging that is to be
// judged now, nil when none is; dropped says that the record is no longer
// wanted (the links never moved and release/current.conf no longer names
// its release). It only reads.
func (e *Engine) judgementDue(st *State) (r *SwitchRecord, dropped bool) {
	r = st.Switch
	if r == nil || r.Verdict != VerdictJudging || e.Switcher == nil {
		return nil, false
	}
	if !e.linksAgree(r.To) {
		if conf, err := e.Layout.ReadLocalConf(); err != nil || conf != r.To {
			return nil, true
		}
	}
	return r, false
}

// judged carries out the verdict finishJudgement reached on r.
func (e *Engine) judged(ctx context.Context, st *State, r *SwitchRecord, err error) {
	ev := Event{Kind: EventApplied, FromVersion: r.From.version(), ToVersion: r.To.Version, Revision: r.Revision}
	if err == nil {
		e.Metrics.switched(true)
		e.lastConf = &r.To
		if r.Revision != "" {
			st.Applied = &Applied{Revision: r.Revision, Version: r.To.Version, Time: e.now()}
		}
		e.log().Info("judged: the release is good", "version", r.To.Version, "rev", short(r.Revision))
	} else {
		e.Metrics.switched(false)
		st.markFailed(Failed{Revision: r.Revision, Version: r.To.Version, Reason: err.Error(), Time: e.now()})
		if r.From == nil {
			e.dropConf(r.To.Version)
		} else {
			e.restoreConf(r.From)
		}
		e.lastConf = r.From
		// As for any rollback: from the release that failed to the one put back.
		ev.Kind, ev.Error = EventRolledBack, err.Error()
		ev.FromVersion, ev.ToVersion = r.To.Version, r.From.version()
		e.log().Error("judged: the release failed and was switched back", "version", r.To.Version, "rev", short(r.Revision),
			"from", r.From.version(), "err", err)
	}
	e.emit(ev)
	if e.Hooks.any() {
		hs := &hookedSwitch{to: appdir.Target{Bin: r.To.BinFile, Cfg: r.To.CfgFile, Revision: r.Revision}}
		if r.From != nil {
			hs.from, hs.fromRev = r.From.BinFile, r.From.Revision
		}
		st.beginHooks(hs)
		e.afterSwitch(ctx, st, hs, err)
	}
}

// judging reports whether rev is the revision of a switch still being
// judged: not to be taken as applied.
func (st *State) judging(rev string) bool {
	return st.Switch != nil && st.Switch.Verdict == VerdictJudging && st.Switch.Revision == rev
}
