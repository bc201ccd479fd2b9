package notify

import "github.com/prometheus/client_golang/prometheus"

// Results of a delivery, the result label of reconciler_notifications_total.
const (
	ResultSent    = "sent"    // a receiver answered 2xx
	ResultFailed  = "failed"  // one attempt failed (transport error, timeout, non-2xx); it is retried
	ResultDropped = "dropped" // given up: attempts exhausted, queue full, or still queued at Close's bound
)

// Metrics counts deliveries, registered on the registry passed to
// NewMetrics. A nil *Metrics counts nothing.
type Metrics struct {
	total *prometheus.CounterVec
}

// NewMetrics creates and registers reconciler_notifications_total, every
// result exported from 0.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{total: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reconciler_notifications_total",
		Help: "Notification deliveries (one per event and --notify-url) by result: sent (2xx), failed (an attempt; retried), dropped (given up)."},
		[]string{"result"})}
	reg.MustRegister(m.total)
	for _, r := range []string{ResultSent, ResultFailed, ResultDropped} {
		m.total.WithLabelValues(r)
	}
	return m
}

func (m *Metrics) add(result string, n int) {
	if m != nil && n > 0 {
		m.total.WithLabelValues(result).Add(float64(n))
	}
}
