package promtest

import (
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reconciler-dev/reconciler/internal/fleetmetrics"
)

// Hosts serves, on one 127.0.0.1 endpoint, the rollout series of many
// agents, told apart by their host_id label: a fleet of a thousand
// simulated agents is one scrape target instead of a thousand. The names,
// help and labels are the agent's (internal/fleetmetrics), plus host_id
// on reconciler_app_up, which an agent's own endpoint does not need.
//
// Safe for concurrent use, and a scrape sees each host whole: a host that
// moves from one state to another is never seen with both, or with none.
type Hosts struct {
	// Addr is the host:port to scrape (/metrics).
	Addr string

	srv                      *httptest.Server
	info, up, state, percent *prometheus.Desc
	mu                       sync.Mutex
	by                       map[string]hostSeries
}

// hostSeries is what one host reports.
type hostSeries struct {
	up             bool
	rollout, state string // "" when it reports no rollout
	percent        float64
}

// NewHosts serves the series of no host yet, until Close.
func NewHosts() *Hosts {
	h := &Hosts{
		by:      map[string]hostSeries{},
		info:    fleetmetrics.HostInfo.Desc(),
		up:      fleetmetrics.AppUp.Desc(fleetmetrics.LabelHostID),
		state:   fleetmetrics.RolloutState.Desc(),
		percent: fleetmetrics.RolloutPercent.Desc(),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(h)
	h.srv = httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	h.Addr = strings.TrimPrefix(h.srv.URL, "http://")
	return h
}

// Close stops serving.
func (h *Hosts) Close() { h.srv.Close() }

// SetUp reports a host, with its app up or down.
func (h *Hosts) SetUp(host string, up bool) {
	h.update(host, func(s *hostSeries) { s.up = up })
}

// SetRollout reports host's state (out, pending, applied, failed) in
// rollout id and the percent of the commit it last read, in place of
// whatever it reported about rollouts before: an agent exports one state,
// in the rollout of the file it last read.
func (h *Hosts) SetRollout(host, id, state string, percent float64) {
	h.update(host, func(s *hostSeries) { s.rollout, s.state, s.percent = id, state, percent })
}

// DropRollouts reports no rollout for host (it read a file without one).
func (h *Hosts) DropRollouts(host string) {
	h.update(host, func(s *hostSeries) { s.rollout, s.state, s.percent = "", "", 0 })
}

func (h *Hosts) update(host string, f func(*hostSeries)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.by[host]
	f(&s)
	h.by[host] = s
}

// Describe is part of prometheus.Collector.
func (h *Hosts) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{h.info, h.up, h.state, h.percent} {
		ch <- d
	}
}

// Collect is part of prometheus.Collector: every host's series, as they
// are at one moment.
func (h *Hosts) Collect(ch chan<- prometheus.Metric) {
	h.mu.Lock()
	var out []prometheus.Metric
	for host, s := range h.by {
		up := 0.0
		if s.up {
			up = 1
		}
		out = append(out,
			prometheus.MustNewConstMetric(h.info, prometheus.GaugeValue, 1, host),
			prometheus.MustNewConstMetric(h.up, prometheus.GaugeValue, up, host))
		if s.rollout != "" {
			out = append(out,
				prometheus.MustNewConstMetric(h.state, prometheus.GaugeValue, 1, s.rollout, host, s.state),
				prometheus.MustNewConstMetric(h.percent, prometheus.GaugeValue, s.percent, s.rollout, host))
		}
	}
	h.mu.Unlock()
	for _, m := range out {
		ch <- m
	}
}
