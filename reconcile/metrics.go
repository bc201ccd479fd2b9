package reconcile

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reconciler-dev/reconciler/internal/fleetmetrics"
)

// Metrics are the agent's Prometheus metrics, registered on the registry
// passed to NewMetrics (never the global one). A nil *Metrics records
// nothing, so one-shot commands need none.
type Metrics struct {
	polls       *prometheus.CounterVec
	pollErrors  *prometheus.CounterVec
	duration    prometheus.Histogram
	downloaded  *prometheus.CounterVec
	switches    prometheus.Counter
	rollbacks   prometheus.Counter
	drift       prometheus.Counter
	applied     *prometheus.GaugeVec
	lastSuccess prometheus.Gauge
	suspended   prometheus.Gauge
	failed      prometheus.Gauge
	appUp       prometheus.Gauge
	backoff     prometheus.Gauge
	untrust     prometheus.Counter
	lastPoll    prometheus.Gauge
	lastError   *prometheus.GaugeVec
	host        *prometheus.GaugeVec
	rolloutSt   *prometheus.GaugeVec
	rolloutPct  *prometheus.GaugeVec
	deferred    prometheus.Gauge
	appExits    prometheus.Counter
}

// GitStats reports the deploy repo calls made so far.
type GitStats func() (refListings, fetches int64)

// NewMetrics creates and registers the metrics. git, if not nil, is read at
// each scrape for reconciler_git_requests_total.
func NewMetrics(reg prometheus.Registerer, git GitStats) *Metrics {
	m := &Metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reconciler_polls_total",
			Help: "Polls of the deploy repo by result (unchanged, applied, error, skipped, suspended, deferred)."}, []string{"result"}),
		pollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reconciler_poll_errors_total",
			Help: "Failed passes by class: retry (the surroundings; retried with backoff) or needs_person (bad input, auth, host key, untrusted commit)."}, []string{"class"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "reconciler_reconcile_duration_seconds",
			Help: "Duration of one reconcile pass.", Buckets: prometheus.ExponentialBuckets(0.005, 3, 10)}),
		downloaded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reconciler_downloaded_bytes_total",
			Help: "Artifact bytes downloaded, by result: ok (verified) or refused (its sha256 was not the pinned one)."}, []string{"result"}),
		switches: prometheus.NewCounter(prometheus.CounterOpts{Name: "reconciler_switches_total",
			Help: "Switches to another release that succeeded."}),
		rollbacks: prometheus.NewCounter(prometheus.CounterOpts{Name: "reconciler_rollbacks_total",
			Help: "Releases that did not come up healthy and were switched back."}),
		drift: prometheus.NewCounter(prometheus.CounterOpts{Name: "reconciler_drift_corrected_total",
			Help: "Passes that found the directory changed by hand and put it back."}),
		applied: fleetmetrics.AppliedInfo.GaugeVec(),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "reconciler_last_success_timestamp_seconds",
			Help: "Unix time of the last pass that ended without error."}),
		suspended: prometheus.NewGauge(prometheus.GaugeOpts{Name: "reconciler_suspended",
			Help: "1 while a person has suspended reconciliation."}),
		failed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "reconciler_failed_revisions",
			Help: "1 while the followed revision is one that failed (not applied until the repo moves on or `reconciler retry`), else 0."}),
		appUp: fleetmetrics.AppUp.Gauge(),
		backoff: prometheus.NewGauge(prometheus.GaugeOpts{Name: "reconciler_backoff_seconds",
			Help: "Current wait before the next poll after failures (0 when healthy)."}),
		untrust: prometheus.NewCounter(prometheus.CounterOpts{Name: "reconciler_untrusted_commits_total",
			Help: "Polls that refused a commit whose signature is missing or not trusted."}),
		deferred: prometheus.NewGauge(prometheus.GaugeOpts{Name: "reconciler_deferred",
			Help: "1 while the followed revision waits for a deploy window (--window, --deny-window), else 0."}),
		appExits: prometheus.NewCounter(prometheus.CounterOpts{Name: "reconciler_app_exits_total",
			Help: "Exits of the app process (no process of the directory serving after it; a handover is none), noticed by the agent's exit watch."}),
		// the series promote reads: the contract's (internal/fleetmetrics)
		lastPoll:   fleetmetrics.LastPoll.Gauge(),
		lastError:  fleetmetrics.LastErrorInfo.GaugeVec(),
		host:       fleetmetrics.HostInfo.GaugeVec(),
		rolloutSt:  fleetmetrics.RolloutState.GaugeVec(),
		rolloutPct: fleetmetrics.RolloutPercent.GaugeVec(),
	}
	reg.MustRegister(m.polls, m.pollErrors, m.duration, m.downloaded, m.switches, m.rollbacks, m.drift,
		m.applied, m.lastSuccess, m.suspended, m.failed, m.appUp, m.backoff, m.untrust,
		m.lastPoll, m.lastError, m.host, m.rolloutSt, m.rolloutPct, m.deferred, m.appExits)
	if git != nil {
		for kind, pick := range map[string]func(a, b int64) int64{
			"ref_listing": func(a, _ int64) int64 { return a },
			"fetch":       func(_, b int64) int64 { return b },
		} {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "reconciler_git_requests_total", Help: "Calls to the git host: ref listings (no objects) and fetches.",
				ConstLabels: prometheus.Labels{"kind": kind},
			}, func() float64 { return float64(pick(git())) }))
		}
	}
	for _, r := range []string{PollUnchanged, PollApplied, PollError, PollSkipped, PollSuspended, PollDeferred} {
		m.polls.WithLabelValues(r) // export zeros, so rate() works from the start
	}
	for _, r := range []string{downloadOK, downloadRefused} {
		m.downloaded.WithLabelValues(r)
	}
	for _, c := range []ErrorClass{ClassRetry, ClassNeedsPerson} {
		m.pollErrors.WithLabelValues(string(c))
	}
	return m
}

func (m *Metrics) pass(out Outcome, st *State, took time.Duration, err error, now time.Time) {
	if m == nil {
		return
	}
	m.polls.WithLabelValues(out.Result).Inc()
	if out.Class != "" {
		m.pollErrors.WithLabelValues(string(out.Class)).Inc()
	}
	m.duration.Observe(took.Seconds())
	m.lastPoll.Set(float64(now.Unix()))
	m.lastError.Reset()
	if st.LastError != nil {
		msg := st.LastError.Message
		if len(msg) > 200 {
			msg = strings.ToValidUTF8(msg[:200], "") + "…"
		}
		m.lastError.WithLabelValues(string(st.LastError.Class), msg).Set(1)
	}
	if err == nil || isState(err) {
		m.lastSuccess.Set(float64(now.Unix())) // a failed head, a suspension or a deferral is a state
	}
	if st.Applied != nil {
		m.applied.Reset()
		m.applied.WithLabelValues(st.Applied.Version, st.Applied.Revision).Set(1)
	}
	if _, ok := st.HeadFailure(); ok {
		m.failed.Set(1)
	} else {
		m.failed.Set(0)
	}
	if st.Suspended != nil {
		m.suspended.Set(1)
	} else {
		m.suspended.Set(0)
	}
	if out.drift {
		m.drift.Inc()
	}
	_, deferred := st.deferredHead()
	m.deferred.Set(gauge(deferred))
}

func gauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// rollout exports the host's id and its place in the current rollout.
func (m *Metrics) rollout(rs *RolloutStatus, hostID string) {
	if m == nil {
		return
	}
	m.host.Reset()
	m.host.WithLabelValues(hostID).Set(1)
	m.rolloutSt.Reset()
	m.rolloutPct.Reset()
	if rs != nil {
		m.rolloutSt.WithLabelValues(rs.Rollout, rs.HostID, rs.State).Set(1)
		m.rolloutPct.WithLabelValues(rs.Rollout, rs.HostID).Set(rs.Percent)
	}
}

func (m *Metrics) setAppUp(up bool) {
	if m == nil {
		return
	}
	if up {
		m.appUp.Set(1)
	} else {
		m.appUp.Set(0)
	}
}

// Results of a download, as the result label of
// reconciler_downloaded_bytes_total.
const (
	downloadOK      = "ok"
	downloadRefused = "refused"
)

func (m *Metrics) downloadedBytes(result string, n int64) {
	if m != nil {
		m.downloaded.WithLabelValues(result).Add(float64(n))
	}
}

func (m *Metrics) switched(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.switches.Inc()
	} else {
		m.rollbacks.Inc()
	}
}

// SetBackoff records the current wait after failures.
func (m *Metrics) SetBackoff(d time.Duration) {
	if m != nil {
		m.backoff.Set(d.Seconds())
	}
}

func (m *Metrics) untrusted() {
	if m != nil {
		m.untrust.Inc()
	}
}

func (m *Metrics) appExited() {
	if m != nil {
		m.appExits.Inc()
	}
}
