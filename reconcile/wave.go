package reconcile

import (
	"time"

	"github.com/reconciler-dev/reconciler/internal/fleetmetrics"
	"github.com/reconciler-dev/reconciler/internal/hostid"
)

// Rollout states of a host, as reconciler_rollout_state and status show
// them: the contract's (internal/fleetmetrics).
const (
	RolloutOut     = fleetmetrics.StateOut
	RolloutPending = fleetmetrics.StatePending
	RolloutApplied = fleetmetrics.StateApplied
	RolloutFailed  = fleetmetrics.StateFailed
)

// RolloutStatus is this host's place in the rollout named by the last
// desired file read, kept in the state file: status shows it and
// reconciler_rollout_state exports it.
type RolloutStatus struct {
	Wave
	State string `json:"state"`
}

// RolloutFailure remembers that this host's switch to a rollout's version
// failed: the host stays on from for that rollout id, whatever later
// commits of it say.
type RolloutFailure struct {
	ID      string    `json:"id"`
	Version string    `json:"version"`
	Reason  string    `json:"reason"`
	Time    time.Time `json:"time"`
}

// maxRolloutFailures bounds the rollout failures kept in the state file.
const maxRolloutFailures = 20

func (s *State) rolloutFailed(id string) bool {
	for _, f := range s.RolloutsFailed {
		if f.ID == id {
			return true
		}
	}
	return false
}

// hostID is --host-id, or the host name.
func (e *Engine) hostID() string {
	h, _ := hostid.Or(e.HostID)
	return h
}

// place picks the release this host reconciles to from a desired file:
// the file itself without a rollout block; with one, the top-level release
// in the wave and from outside it.
func (e *Engine) place(d Desired, st *State) (Desired, *Wave) {
	if d.Rollout == nil {
		return d, nil
	}
	w := WaveOf(&d, e.hostID(), st.rolloutFailed(d.WaveID()))
	return d.Target(w), &w
}

// recordRollout keeps the host's rollout state after a pass. A pass that
// ended before the desired file was read changes nothing; one that read a
// file without a rollout block clears it.
func (e *Engine) recordRollout(st *State, out Outcome) {
	if !out.desiredRead {
		return
	}
	w := out.Wave
	if w == nil {
		st.Rollout = nil
		return
	}
	rs := &RolloutStatus{Wave: *w}
	switch {
	case w.In && !w.Failed:
		if f, ok := st.IsFailed(out.Rev); ok && f.Version == w.Version {
			st.RolloutsFailed = append(st.RolloutsFailed, RolloutFailure{ID: w.Rollout, Version: w.Version, Reason: f.Reason, Time: f.Time})
			if n := len(st.RolloutsFailed); n > maxRolloutFailures {
				st.RolloutsFailed = st.RolloutsFailed[n-maxRolloutFailures:]
			}
			rs.Failed, rs.In = true, false
			rs.Why = "this host's switch to " + w.Version + " failed in this rollout: it stays on " + w.From
			rs.State = RolloutFailed
			e.log().Warn("rollout: this host's switch failed; it stays on from for this rollout", "rollout", w.Rollout, "version", w.Version, "from", w.From)
		} else if st.Applied != nil && st.Applied.Version == w.Version {
			rs.State = RolloutApplied
		} else {
			rs.State = RolloutPending
		}
	case w.Failed:
		rs.State = RolloutFailed
	default:
		rs.State = RolloutOut
	}
	if old := st.Rollout; old == nil || old.Rollout != rs.Rollout || old.State != rs.State || old.In != rs.In {
		e.log().Info("rollout", "rollout", rs.Rollout, "host_id", rs.HostID, "bucket", rs.Bucket, "percent", rs.Percent,
			"in_wave", rs.In, "state", rs.State, "why", rs.Why)
	}
	st.Rollout = rs
}
