package reconcile

import (
	"time"
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
	return e.Layout.SaveState(*st)
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
