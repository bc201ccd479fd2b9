package selfupdate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/reconciler-dev/reconciler/artifacts"
)

// Store is the agent's release store (--agent-dir) as the updater uses it.
type Store interface {
	// VersionDir returns the directory of version v (created if needed),
	// where the binary BinaryName is installed verified and atomically.
	VersionDir(v string) (string, error)
	// Failed reports whether version v is recorded failed, and why.
	Failed(v string) (string, bool)
	// RecordFailed records that version v could not run here.
	RecordFailed(v, reason string) error
	// RecordConfirmed records that version v proved itself here.
	RecordConfirmed(v string) error
}

// BinaryName is the agent binary's name in its version directory.
const BinaryName = "reconciler"

// DirStore is a Store on a directory: versions/<v>/reconciler and a
// record (agent.json) of the versions confirmed and failed. It is the
// minimal store the updater needs; package agentdir's is the full one.
type DirStore struct {
	Dir string
	mu  sync.Mutex
}

type record struct {
	Confirmed []string          `json:"confirmed,omitempty"`
	Failed    map[string]string `json:"failed,omitempty"`
}

func (s *DirStore) recordPath() string { return filepath.Join(s.Dir, "agent.json") }

// VersionDir implements Store.
func (s *DirStore) VersionDir(v string) (string, error) {
	dir := filepath.Join(s.Dir, "versions", v)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("agent dir: %w", err)
	}
	return dir, nil
}

func (s *DirStore) read() (record, error) {
	var r record
	b, err := os.ReadFile(s.recordPath())
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", s.recordPath(), err)
	}
	return r, nil
}

func (s *DirStore) write(r record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	return artifacts.WriteFileAtomic(s.recordPath(), append(b, '\n'), 0o600)
}

// Failed implements Store.
func (s *DirStore) Failed(v string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.read()
	if err != nil {
		return "", false
	}
	why, ok := r.Failed[v]
	return why, ok
}

// RecordFailed implements Store.
func (s *DirStore) RecordFailed(v, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.read()
	if err != nil {
		return err
	}
	if r.Failed == nil {
		r.Failed = map[string]string{}
	}
	r.Failed[v] = reason
	return s.write(r)
}

// RecordConfirmed implements Store.
func (s *DirStore) RecordConfirmed(v string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.read()
	if err != nil {
		return err
	}
	delete(r.Failed, v)
	for i, c := range r.Confirmed {
		if c == v {
			r.Confirmed = append(r.Confirmed[:i], r.Confirmed[i+1:]...)
			break
		}
	}
	r.Confirmed = append(r.Confirmed, v)
	return s.write(r)
}
