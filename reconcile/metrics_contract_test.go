package reconcile_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reconciler-dev/reconciler/internal/fleetmetrics"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// describer records what NewMetrics registers, by description.
type describer struct {
	prometheus.Registerer
	descs map[string]string // name -> Desc.String()
}

func (d *describer) MustRegister(cs ...prometheus.Collector) {
	d.Registerer.MustRegister(cs...)
	for _, c := range cs {
		ch := make(chan *prometheus.Desc, 8)
		go func() { c.Describe(ch); close(ch) }()
		for desc := range ch {
			d.descs[fqName(desc)] = desc.String()
		}
	}
}

// fqName reads a Desc's name: the one thing its String starts with.
func fqName(d *prometheus.Desc) string {
	s := d.String()
	const pre = `Desc{fqName: "`
	s = s[len(pre):]
	for i := range s {
		if s[i] == '"' {
			return s[:i]
		}
	}
	return s
}

// TestMetricsAreTheContract: the agent exports every series promote reads
// exactly as internal/fleetmetrics describes it (name, help, labels).
func TestMetricsAreTheContract(t *testing.T) {
	d := &describer{Registerer: prometheus.NewRegistry(), descs: map[string]string{}}
	reconcile.NewMetrics(d, nil)
	for _, s := range fleetmetrics.All() {
		want := s.Desc().String()
		if got := d.descs[s.Name]; got != want {
			t.Errorf("the agent's %s:\n got %s\nwant %s", s.Name, got, want)
		}
	}
}
