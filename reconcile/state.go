package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
)

// State is the reconciler's memory of a directory, kept in
// .reconciler/state.json. It separates what was last applied from what was
// last attempted, so `status` can say "running 1.0, 2.0 failed".
type State struct {
	Applied   *Applied   `json:"applied,omitempty"`
	Attempted *Attempted `json:"attempted,omitempty"`
	LastPoll  *Poll      `json:"last_poll,omitempty"`
	LastError *ErrorInfo `json:"last_error,omitempty"`
	// Failed lists revisions whose release did not come up healthy; a
	// failed revision is not applied again until the repo moves on.
	Failed []Failed `json:"failed,omitempty"`
	// Releases maps each release file the reconciler installed to its
	// sha256, so a file altered on disk later is told apart from a desired
	// state that changed an existing version.
	Releases map[string]string `json:"releases,omitempty"`
	// Rollout is this host's place in the rollout of the last desired
	// file read (nil without a rollout block); RolloutsFailed the rollouts
	// whose version failed here, so the host stays on their from.
	Rollout        *RolloutStatus   `json:"rollout,omitempty"`
	RolloutsFailed []RolloutFailure `json:"rollouts_failed,omitempty"`
	// Hooks records the hooks of the last switch that ran one (hooks.go).
	Hooks *SwitchHooks `json:"hooks,omitempty"`
	// Deferred is the revision the deploy windows hold back, if any.
	Deferred *Deferred `json:"deferred,omitempty"`
	// Switch is the last switch to another release and its verdict
	// (judge.go).
	Switch *SwitchRecord `json:"switch,omitempty"`
	// Mismatches are downloads refused for their digest (mismatch.go).
	Mismatches []Mismatch `json:"mismatches,omitempty"`
	// Exits are the last exits of the app process (crashloop.go).
	Exits []AppExit `json:"exits,omitempty"`
	// Suspended is read from its own file (see Suspend), never saved here.
	Suspended *Suspended `json:"-"`
}

// Applied is the last revision fully applied.
type Applied struct {
	Revision string    `json:"revision"`
	Version  string    `json:"version"`
	Time     time.Time `json:"time"`
}

// Attempted is the last revision a sync started to apply.
type Attempted struct {
	Revision string    `json:"revision"`
	Version  string    `json:"version,omitempty"`
	Time     time.Time `json:"time"`
}

// Poll results, as shown by `status` and used as metric labels.
const (
	PollUnchanged = "unchanged"
	PollApplied   = "applied"
	PollError     = "error"
	PollSkipped   = "skipped"   // a failed revision, not retried
	PollSuspended = "suspended" // manual control: planned, not applied
	PollDeferred  = "deferred"  // outside the deploy windows: planned, not applied
)

// Poll is the last time the deploy repo was asked and what came of it.
type Poll struct {
	Time     time.Time `json:"time"`
	Result   string    `json:"result"`
	Revision string    `json:"revision,omitempty"`
}

// ErrorInfo is the last error, kept until a poll succeeds.
type ErrorInfo struct {
	Time     time.Time  `json:"time"`
	Message  string     `json:"message"`
	Revision string     `json:"revision,omitempty"`
	Class    ErrorClass `json:"class,omitempty"` // retry or needs_person
	// Passes counts the passes in a row that ended in an error of this
	// class, this one included: a fault to retry is notified once it
	// persisted (failedAfter), and the count survives a restart.
	Passes int `json:"passes,omitempty"`
}

// Failed is a revision whose release was rolled back.
type Failed struct {
	Revision string    `json:"revision"`
	Version  string    `json:"version"`
	Reason   string    `json:"reason"`
	Time     time.Time `json:"time"`
}

// Suspended records that a person took manual control.
type Suspended struct {
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

// maxFailed bounds the failed list; the oldest entries go first.
const maxFailed = 20

// IsFailed reports whether rev is recorded as failed.
func (s *State) IsFailed(rev string) (Failed, bool) {
	for _, f := range s.Failed {
		if f.Revision == rev {
			return f, true
		}
	}
	return Failed{}, false
}

// markFailed records rev as failed.
func (s *State) markFailed(f Failed) {
	if _, ok := s.IsFailed(f.Revision); ok {
		return
	}
	s.Failed = append(s.Failed, f)
	if len(s.Failed) > maxFailed {
		s.Failed = s.Failed[len(s.Failed)-maxFailed:]
	}
}

// LoadState reads the state file; a missing file is an empty state.
func (l Layout) LoadState() (State, error) {
	var s State
	data, err := os.ReadFile(l.stateFile())
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return s, fmt.Errorf("read state: %w", err)
	default:
		if err := json.Unmarshal(data, &s); err != nil {
			return State{}, fmt.Errorf("read state %s: %w", l.stateFile(), err)
		}
	}
	s.Suspended, err = l.loadSuspended()
	return s, err
}

// saveState writes the state file atomically.
func (l Layout) saveState(s State) error {
	if err := l.ensureStateDir(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := artifacts.WriteFileAtomic(l.stateFile(), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

func (l Layout) ensureStateDir() error {
	if err := os.MkdirAll(l.StateDir(), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", l.StateDir(), err)
	}
	return nil
}

func (s *State) recordRelease(name, sum string) {
	if s.Releases == nil {
		s.Releases = map[string]string{}
	}
	s.Releases[name] = sum
}
