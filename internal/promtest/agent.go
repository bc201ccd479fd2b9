package promtest

import (
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reconciler-dev/reconciler/internal/fleetmetrics"
)

// Agent serves, on 127.0.0.1, the series an agent exports about itself and
// its rollouts (the contract's series, internal/fleetmetrics),
// from a prometheus.Registry as the agent does, for Prometheus to scrape.
// The test says what it reports; Prometheus adds instance and job.
type Agent struct {
	HostID string
	// Addr is the host:port to scrape (/metrics).
	Addr string

	srv       *httptest.Server
	reg       *prometheus.Registry
	state     *prometheus.GaugeVec
	percent   *prometheus.GaugeVec
	applied   *prometheus.GaugeVec
	lastPoll  prometheus.Gauge
	lastError *prometheus.GaugeVec

	mu     sync.Mutex
	gauges map[string]prometheus.Gauge
}

// NewAgent serves the metrics of an agent with this host id until Close.
func NewAgent(hostID string) *Agent {
	a := &Agent{HostID: hostID, reg: prometheus.NewRegistry(), gauges: map[string]prometheus.Gauge{}}
	// the contract's series, built as the agent builds them
	info := fleetmetrics.HostInfo.GaugeVec()
	info.WithLabelValues(hostID).Set(1)
	a.state = fleetmetrics.RolloutState.GaugeVec()
	a.percent = fleetmetrics.RolloutPercent.GaugeVec()
	a.applied = fleetmetrics.AppliedInfo.GaugeVec()
	a.lastError = fleetmetrics.LastErrorInfo.GaugeVec()
	a.lastPoll = fleetmetrics.LastPoll.Gauge()
	a.reg.MustRegister(info, a.state, a.percent, a.applied, a.lastError, a.lastPoll)
	a.srv = httptest.NewServer(promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	a.Addr = strings.TrimPrefix(a.srv.URL, "http://")
	return a
}

// Close stops serving.
func (a *Agent) Close() { a.srv.Close() }

// SetRollout reports state (out, pending, applied, failed) in rollout id,
// and the percent of the commit last read: one state series, as an agent
// has, replacing what it reported for this rollout.
func (a *Agent) SetRollout(id, state string, percent float64) {
	a.state.DeletePartialMatch(prometheus.Labels{fleetmetrics.LabelRollout: id})
	a.state.WithLabelValues(id, a.HostID, state).Set(1)
	a.percent.WithLabelValues(id, a.HostID).Set(percent)
}

// DropRollout reports nothing about rollout id any more.
func (a *Agent) DropRollout(id string) {
	a.state.DeletePartialMatch(prometheus.Labels{fleetmetrics.LabelRollout: id})
	a.percent.DeletePartialMatch(prometheus.Labels{fleetmetrics.LabelRollout: id})
}

// SetApplied reports the applied version and revision.
func (a *Agent) SetApplied(version, revision string) {
	a.applied.Reset()
	a.applied.WithLabelValues(version, revision).Set(1)
}

// SetPoll reports a poll that ended at t, failed with class and message
// unless message is "".
func (a *Agent) SetPoll(t time.Time, class, message string) {
	a.lastPoll.Set(float64(t.UnixNano()) / 1e9)
	a.lastError.Reset()
	if message != "" {
		a.lastError.WithLabelValues(class, message).Set(1)
	}
}

// SetGauge sets a gauge of any name (one the test's checks read), made on
// first use.
func (a *Agent) SetGauge(name string, v float64) {
	a.mu.Lock()
	g := a.gauges[name]
	if g == nil {
		g = prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "A test's gauge."})
		a.reg.MustRegister(g)
		a.gauges[name] = g
	}
	a.mu.Unlock()
	g.Set(v)
}
