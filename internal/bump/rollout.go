package bump

import (
	"slices"

	"github.com/reconciler-dev/reconciler/reconcile"
)

// DefaultSteps are the steps of a rollout when the file's history has no
// rollout block to take them from: 10% for 30 minutes, 50% for an hour,
// everyone for 30 minutes, then promote finishes it.
var DefaultSteps = []reconcile.RolloutStep{{Percent: 10, Soak: "30m"}, {Percent: 50, Soak: "1h"}, {Percent: 100, Soak: "30m"}}

// newRollout is the block --rollout writes: from is the release being
// replaced (the file's top level), the id as asked or <app>-<version>, and
// the canary, steps, checks, max_failed and on_halt of the last rollout
// block in the history read (else DefaultSteps and nothing more), at the
// first step's percent.
func newRollout(st state, req Request, version string) *reconcile.Rollout {
	from := reconcile.Desired{Version: st.cur.Version, Bin: st.cur.Bin, Cfg: st.cur.Cfg}
	r := &reconcile.Rollout{ID: req.RolloutID, From: &from}
	if r.ID == "" {
		r.ID = App(req.Path) + "-" + version
	}
	if last := st.lastRollout; last != nil {
		r.Canary = slices.Clone(last.Canary)
		r.Steps = slices.Clone(last.Steps)
		r.Checks = slices.Clone(last.Checks)
		r.MaxFailed, r.OnHalt = last.MaxFailed, last.OnHalt
	}
	if len(r.Steps) == 0 {
		r.Steps = slices.Clone(DefaultSteps)
	}
	pct := r.Steps[0].Percent
	r.Percent = &pct
	return r
}
