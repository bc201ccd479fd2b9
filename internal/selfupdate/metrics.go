package selfupdate

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reconciler-dev/reconciler/internal/fleetmetrics"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// Metrics are the agent's own series. A nil *Metrics records nothing.
type Metrics struct {
	info    *prometheus.GaugeVec
	failed  *prometheus.GaugeVec
	rollout *rolloutCollector
}

// NewMetrics registers reconciler_agent_info{version,revision} (1 for the
// running agent), reconciler_agent_failed_info{version} (1 for the agent
// release that last failed here, none once one succeeded) and this host's
// place in the agent file's rollout (fleetmetrics.AgentRolloutState and
// AgentRolloutPercent, none without a rollout block) on reg.
func NewMetrics(reg prometheus.Registerer, version, revision string) *Metrics {
	m := &Metrics{
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "reconciler_agent_info",
			Help: "The running agent: its version and the commit it was built from (value 1)."}, []string{"version", "revision"}),
		failed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "reconciler_agent_failed_info",
			Help: "An agent release that could not run here and is not tried again (value 1)."}, []string{"version"}),
		rollout: &rolloutCollector{},
	}
	reg.MustRegister(m.info, m.failed, m.rollout)
	m.info.WithLabelValues(version, revision).Set(1)
	return m
}

func (m *Metrics) setFailed(v string) {
	if m == nil {
		return
	}
	m.failed.Reset()
	if v != "" {
		m.failed.WithLabelValues(v).Set(1)
	}
}

// setRollout exports this host's state in the rollout of the agent file
// path; a nil w (no rollout block) exports none.
func (m *Metrics) setRollout(path string, w *reconcile.Wave, state string) {
	if m == nil {
		return
	}
	m.rollout.mu.Lock()
	defer m.rollout.mu.Unlock()
	m.rollout.path, m.rollout.state = path, state
	m.rollout.wave = nil
	if w != nil {
		c := *w
		m.rollout.wave = &c
	}
}

// rolloutCollector serves the agent's rollout series. It is an unchecked
// collector (Describe sends nothing): the app's rollout series, of the
// same names and help without the agent label, live in the same registry
// (run --dir), and a registry refuses two checked collectors of one name
// with different labels.
type rolloutCollector struct {
	mu    sync.Mutex
	path  string
	wave  *reconcile.Wave
	state string
}

func (c *rolloutCollector) Describe(chan<- *prometheus.Desc) {}

func (c *rolloutCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wave == nil {
		return
	}
	w := c.wave
	ch <- prometheus.MustNewConstMetric(fleetmetrics.AgentRolloutState.Desc(), prometheus.GaugeValue, 1,
		w.Rollout, w.HostID, c.state, c.path)
	ch <- prometheus.MustNewConstMetric(fleetmetrics.AgentRolloutPercent.Desc(), prometheus.GaugeValue, w.Percent,
		w.Rollout, w.HostID, c.path)
}
