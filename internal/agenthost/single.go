package agenthost

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// Single is the Target of one app's agent (`run --dir`). It has no name:
// POST /reconcile polls it whatever ?app says.
type Single struct {
	Agent   *reconcile.Agent
	Layout  reconcile.Layout
	Metrics prometheus.Gatherer
}

// Gather is the agent's registry.
func (s *Single) Gather() ([]*dto.MetricFamily, error) { return s.Metrics.Gather() }

// Status is the app directory's status (ReadStatus).
func (s *Single) Status() (any, error) {
	st, err := ReadStatus(s.Layout)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Trigger asks the agent for a poll now.
func (s *Single) Trigger(string) (string, error) {
	s.Agent.Trigger()
	return "poll scheduled", nil
}
