package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/reconciler-dev/reconciler/artifacts"
)

// AgentStatus is the agent as it reports itself when it updates itself
// (run --agent-path): its version, the commit it was built from, and the
// agent releases recorded failed here. The agent writes it to
// .reconciler/agent.json (AgentStatusFile) at start and when it changes:
// `run --dir` in its directory, `run --apps-dir` in the directory of every
// app it runs; status and GET /status show it.
type AgentStatus struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	PID      int    `json:"pid"`
	// Failed are the agent releases that could not run here, by
	// version: why (not tried again until the agent file names another
	// version, or `reconciler retry --agent`).
	Failed map[string]string `json:"failed,omitempty"`
}

// Lines are the agent's lines of `status` (key, text): its version, and
// each release recorded failed.
func (a *AgentStatus) Lines() [][2]string {
	out := [][2]string{{"agent", fmt.Sprintf("version %s (pid %d, built from %s)", a.Version, a.PID, orNone(a.Revision))}}
	for _, v := range slices.Sorted(maps.Keys(a.Failed)) {
		out = append(out, [2]string{"agent failed", fmt.Sprintf("version %s: %s; not tried again until the agent file names another version, or `reconciler retry --agent`", v, a.Failed[v])})
	}
	return out
}

// AgentStatusFile is where the agent's own status is kept.
func (l Layout) AgentStatusFile() string { return filepath.Join(l.StateDir(), "agent.json") }

// WriteAgentStatus writes a to AgentStatusFile, atomically; nil removes
// it (an agent that does not update itself).
func (l Layout) WriteAgentStatus(a *AgentStatus) error {
	if a == nil {
		if err := os.Remove(l.AgentStatusFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	return artifacts.WriteFileAtomic(l.AgentStatusFile(), append(b, '\n'), 0o644)
}

// readAgentStatus reads AgentStatusFile; nil when there is none.
func (l Layout) readAgentStatus() (*AgentStatus, error) {
	b, err := os.ReadFile(l.AgentStatusFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var a AgentStatus
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("%s: %w", l.AgentStatusFile(), err)
	}
	return &a, nil
}
