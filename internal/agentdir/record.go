package agentdir

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/reconciler-dev/reconciler/internal/relversion"
)

// MaxStarts is how many starts in a row without a good poll a confirmed
// version gets before the start passes it over (SPEC: 3).
const MaxStarts = 3

// ErrNotInstalled marks a version confirmed before it was installed.
var ErrNotInstalled = errors.New("not installed in the agent dir")

func checkVersion(v string) error {
	if err := relversion.Check(v); err != nil {
		return fmt.Errorf("agent version: %w", err)
	}
	return nil
}

// Confirm records that version proved itself (it ran here and completed a
// good poll): it becomes the newest confirmed version, its failure (if
// any) is forgotten and its start count reset. It must be installed.
func (d *Dir) Confirm(version string) error {
	if err := checkVersion(version); err != nil {
		return err
	}
	return d.update(func(s *state) error {
		sum, ok := s.Installed[version]
		if !ok {
			return fmt.Errorf("agent dir %s: confirm %s: %w", d.path, version, ErrNotInstalled)
		}
		s.unconfirm(version)
		s.Confirmed = append(s.Confirmed, Confirmed{Version: version, SHA256: sum, Time: time.Now().UTC()})
		delete(s.Failed, version)
		if s.Starts.Version == version {
			s.Starts.Count = 0
		}
		return nil
	})
}

// Fail records version failed, with reason (one line for people): it is
// not tried again (Failed) until the agent file names another version
// (Named) or Retry. A confirmed version that fails is no longer confirmed.
func (d *Dir) Fail(version, reason string) error {
	if err := checkVersion(version); err != nil {
		return err
	}
	return d.update(func(s *state) error {
		s.fail(version, reason, time.Now())
		s.unconfirm(version)
		return nil
	})
}

// Failed returns the failure recorded for version, ok false when none.
func (d *Dir) Failed(version string) (Failure, bool, error) {
	s, err := d.view()
	if err != nil {
		return Failure{}, false, err
	}
	f, ok := s.Failed[version]
	return f, ok, nil
}

// Named records the version the agent file names now. When it differs
// from the one it named before, the failures of every other version are
// forgotten (SPEC: a failed release is not tried again until the agent
// file names another version): a file that goes 2 (failed), 3, 2 tries 2
// again. The running agent calls it at each poll that read the file.
func (d *Dir) Named(version string) error {
	if err := checkVersion(version); err != nil {
		return err
	}
	return d.update(func(s *state) error {
		if s.Named == version {
			return nil
		}
		s.Named = version
		for v := range s.Failed {
			if v != version {
				delete(s.Failed, v)
			}
		}
		return nil
	})
}

// Retry forgets every failure and the start count (`reconciler retry
// --agent`), and returns the failures it forgot.
func (d *Dir) Retry() (map[string]Failure, error) {
	var forgot map[string]Failure
	err := d.update(func(s *state) error {
		forgot, s.Failed, s.Starts = s.Failed, nil, Starts{}
		return nil
	})
	return forgot, err
}

// Started counts a start of version: one more start in a row without a
// good poll. The start at boot calls it before it execs the version.
func (d *Dir) Started(version string) error {
	if err := checkVersion(version); err != nil {
		return err
	}
	return d.update(func(s *state) error {
		if s.Starts.Version != version {
			s.Starts = Starts{Version: version}
		}
		s.Starts.Count++
		return nil
	})
}

// GoodPoll records that version, running, completed a poll that reached
// the repo and verified the commit: its starts without a good poll are
// back to 0. The running agent calls it after such a poll (at least the
// first one after it started); without it, a confirmed version is passed
// over after MaxStarts starts.
func (d *Dir) GoodPoll(version string) error {
	if err := checkVersion(version); err != nil {
		return err
	}
	s, err := d.view()
	if err != nil {
		return err
	}
	if s.Starts.Version != version || s.Starts.Count == 0 {
		return nil // nothing to write: the common case at every poll
	}
	return d.update(func(s *state) error {
		if s.Starts.Version == version {
			s.Starts.Count = 0
		}
		return nil
	})
}

// Record is what the record says, for status and tests.
type Record struct {
	Confirmed []Confirmed // oldest first: the last is the newest
	Failed    map[string]Failure
	Named     string
	Starts    Starts
	Installed map[string]string // version -> sha256
}

// Record reads the record.
func (d *Dir) Record() (Record, error) {
	s, err := d.view()
	if err != nil {
		return Record{}, err
	}
	return Record{Confirmed: slices.Clone(s.Confirmed), Failed: s.Failed, Named: s.Named, Starts: s.Starts, Installed: s.Installed}, nil
}
