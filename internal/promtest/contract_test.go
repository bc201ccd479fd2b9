package promtest_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/reconciler-dev/reconciler/internal/fleetmetrics"
	"github.com/reconciler-dev/reconciler/internal/promtest"
)

// scrape reads addr's /metrics as metric families.
func scrape(t *testing.T, addr string) map[string]fleetFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]fleetFamily{}
	for name, f := range fams {
		ff := fleetFamily{help: f.GetHelp()}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName())
			}
			ff.labels = append(ff.labels, labels)
		}
		out[name] = ff
	}
	return out
}

type fleetFamily struct {
	help   string
	labels [][]string // per series, sorted as the exposition sorts them
}

// checkContract: every series of the contract that addr serves has the
// contract's help and labels (extra ones added for a multi-host endpoint).
func checkContract(t *testing.T, who string, got map[string]fleetFamily, want []fleetmetrics.Series, extra map[string][]string) {
	t.Helper()
	for _, s := range want {
		f, ok := got[s.Name]
		if !ok {
			t.Errorf("%s serves no %s", who, s.Name)
			continue
		}
		if f.help != s.Help {
			t.Errorf("%s: help of %s is %q, want the contract's %q", who, s.Name, f.help, s.Help)
		}
		labels := append(s.Labels(), extra[s.Name]...)
		slices.Sort(labels)
		for _, l := range f.labels {
			if !slices.Equal(l, labels) {
				t.Errorf("%s: %s has labels %v, want %v", who, s.Name, l, labels)
			}
		}
	}
}

// TestSeriesAreTheContract: the test fleets serve the agent's series with
// the agent's names, help and labels (internal/fleetmetrics), so promote
// is tested against what agents export.
func TestSeriesAreTheContract(t *testing.T) {
	a := promtest.NewAgent("web-1")
	defer a.Close()
	a.SetRollout("web-2.0", fleetmetrics.StatePending, 10)
	a.SetApplied("1.9", "abc")
	a.SetPoll(time.Now(), "retry", "boom")
	checkContract(t, "promtest.Agent", scrape(t, a.Addr), []fleetmetrics.Series{
		fleetmetrics.HostInfo, fleetmetrics.RolloutState, fleetmetrics.RolloutPercent,
		fleetmetrics.AppliedInfo, fleetmetrics.LastPoll, fleetmetrics.LastErrorInfo,
	}, nil)

	h := promtest.NewHosts()
	defer h.Close()
	h.SetUp("web-2", true)
	h.SetRollout("web-2", "web-2.0", fleetmetrics.StateApplied, 10)
	checkContract(t, "promtest.Hosts", scrape(t, h.Addr), []fleetmetrics.Series{
		fleetmetrics.HostInfo, fleetmetrics.AppUp, fleetmetrics.RolloutState, fleetmetrics.RolloutPercent,
	}, map[string][]string{fleetmetrics.NameAppUp: {fleetmetrics.LabelHostID}})
}
