package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// AgentStatus is the agent as it reports itself when it updates itself
// (run --agent-path): its version, the commit it was built from, and the
// agent releases recorded failed here. The agent writes it to
// .reconciler/agent.json (AgentStatusFile) at start and when it changes;
// status and GET /status show it.
type AgentStatus struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	PID      int    `json:"pid"`
	// Failed are the agent releases that could not run here, by
	// version: why (not tried again until the agent file names another
	// version, or `reconciler retry --agent`).
	Failed map[string]string `json:"failed,omitempty"`
}

// AgentStatusFile is where the agent's own status is kept.
func (l Layout) AgentStatusFile() string { return filepath.Join(l.StateDir(), "agent.json") }

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
