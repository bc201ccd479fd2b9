package selfupdate

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the agent's own series. A nil *Metrics records nothing.
type Metrics struct {
	info   *prometheus.GaugeVec
	failed *prometheus.GaugeVec
}

// NewMetrics registers reconciler_agent_info{version,revision} (1 for the
// running agent) and reconciler_agent_failed_info{version} (1 for the
// agent release that last failed here, none once one succeeded) on reg.
func NewMetrics(reg prometheus.Registerer, version, revision string) *Metrics {
	m := &Metrics{
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "reconciler_agent_info",
			Help: "The running agent: its version and the commit it was built from (value 1)."}, []string{"version", "revision"}),
		failed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "reconciler_agent_failed_info",
			Help: "An agent release that could not run here and is not tried again (value 1)."}, []string{"version"}),
	}
	reg.MustRegister(m.info, m.failed)
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
