package agentdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"golang.org/x/sys/unix"
)

// state is the record of state.json.
type state struct {
	// Installed is the sha256 of each version's binary, as verified when
	// it was installed.
	Installed map[string]string `json:"installed,omitempty"`
	// Confirmed are the versions that proved themselves on this host, in
	// the order of their (last) confirmation: the last is the newest.
	Confirmed []Confirmed `json:"confirmed,omitempty"`
	// Failed are the versions not to try again, with why.
	Failed map[string]Failure `json:"failed,omitempty"`
	// Named is the version the agent file named last (see Named).
	Named string `json:"named,omitempty"`
	// Starts counts the starts without a good poll of one version.
	Starts Starts `json:"starts,omitzero"`
}

// Confirmed is a version that proved itself on this host.
type Confirmed struct {
	Version string    `json:"version"`
	SHA256  string    `json:"sha256"`
	Time    time.Time `json:"time"`
}

// Failure is why a version is not tried again.
type Failure struct {
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

// Starts is the count of starts in a row, without a good poll, of the
// version last started.
type Starts struct {
	Version string `json:"version"`
	Count   int    `json:"count"`
}

func (s *state) confirmedIndex(v string) int {
	return slices.IndexFunc(s.Confirmed, func(c Confirmed) bool { return c.Version == v })
}

func (s *state) unconfirm(v string) {
	s.Confirmed = slices.DeleteFunc(s.Confirmed, func(c Confirmed) bool { return c.Version == v })
}

func (s *state) fail(v, reason string, now time.Time) {
	if s.Failed == nil {
		s.Failed = map[string]Failure{}
	}
	s.Failed[v] = Failure{Reason: reason, Time: now.UTC()}
}

// read reads state.json; a missing file is an empty record.
func (d *Dir) read() (*state, error) {
	data, err := os.ReadFile(d.stateFile())
	if errors.Is(err, fs.ErrNotExist) {
		return &state{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent dir: read %s: %w", d.stateFile(), err)
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("agent dir: read %s: %w (remove it to start the record afresh: the package's binary then runs)", d.stateFile(), err)
	}
	return &s, nil
}

// update changes the record under the directory's lock: read, change,
// write atomically. A change that returns an error writes nothing.
func (d *Dir) update(change func(*state) error) error {
	unlock, err := d.lock()
	if err != nil {
		return err
	}
	defer unlock()
	// A writer killed mid-write left its temp file: only lock holders
	// write in the directory itself, so none is being written now.
	if _, err := artifacts.CleanTemp(d.path); err != nil {
		return fmt.Errorf("agent dir: %w", err)
	}
	s, err := d.read()
	if err != nil {
		return err
	}
	if err := change(s); err != nil {
		return err
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("agent dir: %w", err)
	}
	if err := artifacts.WriteFileAtomic(d.stateFile(), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("agent dir: %w", err)
	}
	return nil
}

// view reads the record under the lock (a reader never sees a change half
// made: the write is atomic anyway, the lock orders it after a writer).
func (d *Dir) view() (*state, error) {
	unlock, err := d.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return d.read()
}

// lock takes the directory's exclusive flock, waiting for another holder:
// holders keep it for a few file operations only. The descriptor is
// O_CLOEXEC, and the unlock is explicit (LOCK_UN before Close) so that a
// child forked meanwhile by another goroutine does not keep it.
func (d *Dir) lock() (func(), error) {
	f, err := os.OpenFile(d.lockFile(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("agent dir: lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("agent dir: lock %s: %w", d.lockFile(), err)
	}
	return func() {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}
