package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
)

// Suspension lives in its own file, not in state.json: a person suspends
// while an agent holds the lock and rewrites the state, and neither may
// undo the other's write.
func (l Layout) suspendFile() string { return filepath.Join(l.StateDir(), "suspended.json") }

// Suspend records that a person takes manual control of the directory.
func (l Layout) Suspend(reason string, now time.Time) error {
	if err := l.ensureStateDir(); err != nil {
		return err
	}
	data, _ := json.Marshal(Suspended{Reason: reason, Time: now.UTC()}) // strings and a time: cannot fail
	if err := artifacts.WriteFileAtomic(l.suspendFile(), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("suspend: %w", err)
	}
	return nil
}

// Resume gives control back to the reconciler.
func (l Layout) Resume() error {
	if err := os.Remove(l.suspendFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("resume: %w", err)
	}
	return nil
}

// loadSuspended reads the suspension, nil when there is none.
func (l Layout) loadSuspended() (*Suspended, error) {
	data, err := os.ReadFile(l.suspendFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read suspension: %w", err)
	}
	var s Suspended
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read suspension %s: %w", l.suspendFile(), err)
	}
	return &s, nil
}

// Suspension returns the directory's suspension, nil when it is not
// suspended.
func (l Layout) Suspension() (*Suspended, error) { return l.loadSuspended() }
