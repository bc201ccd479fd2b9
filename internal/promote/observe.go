package promote

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/reconciler-dev/reconciler/internal/fleetmetrics"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// The agents' series the decision reads: the contract's
// (internal/fleetmetrics; docs/reference.md, "Metrics").
const (
	metricState   = fleetmetrics.NameRolloutState
	metricPercent = fleetmetrics.NameRolloutPercent
)

// Rollout states an agent reports: the contract's.
const (
	StateOut     = fleetmetrics.StateOut
	StatePending = fleetmetrics.StatePending
	StateApplied = fleetmetrics.StateApplied
	StateFailed  = fleetmetrics.StateFailed
)

// agentAt is what one agent reported at one point of the window.
type agentAt struct {
	id      string   // host_id, else instance
	states  []string // the states whose series is 1; one, normally
	percent float64
	seen    bool // it reported a percent
}

// checkAt is one check's answer at one point: a number, or why none.
type checkAt struct {
	value   float64
	missing string
}

// observation is everything read from Prometheus for one decision, point
// by point over the window.
type observation struct {
	g      grid
	agents []map[string]*agentAt // per point, by series identity
	checks [][]checkAt           // per check, per point
}

// observe asks Prometheus for the agents' series of the rollout and for
// every check, over the window: 1 + len(checks) range queries.
func observe(ctx context.Context, p Prometheus, d *reconcile.Desired, path string, g grid) (*observation, error) {
	r := v1.Range{Start: g.start, End: g.at(g.n), Step: g.step}
	q := fmt.Sprintf(`{__name__=~"%s|%s",%s=%s}`, metricState, metricPercent, fleetmetrics.LabelRollout, promString(d.WaveID()))
	m, err := queryRange(ctx, p, q, r)
	if err != nil {
		return nil, fmt.Errorf("ask Prometheus which agents report rollout %s: %w", d.WaveID(), err)
	}
	o := &observation{g: g, agents: readAgents(ofFile(m, path), g)}
	for i, c := range d.Rollout.Checks {
		m, err := queryRange(ctx, p, c.Query, r)
		switch {
		case err != nil && !refused(err):
			return nil, fmt.Errorf("check %d: %w", i+1, err)
		case err != nil:
			o.checks = append(o.checks, fill(g.n, checkAt{missing: "Prometheus refused the query: " + err.Error()}))
		default:
			o.checks = append(o.checks, readCheck(m, g))
		}
	}
	return o, nil
}

// ofFile keeps the series of the file at path. An agent's rollout of its
// own file has series with fleetmetrics.LabelAgent set to the file's
// path: when any series says path, path is the agent's file and only
// those count; otherwise only the apps' series (no agent label) do. So an
// app's rollout and the agent's whose ids are equal (the default id is the
// version, and an app and the agent may share a version) are judged
// apart. Before any agent reports its file's rollout, its ids must differ
// from the apps' for that: the reference says to give it an id of its own.
func ofFile(m model.Matrix, path string) model.Matrix {
	want := ""
	for _, s := range m {
		if path != "" && string(s.Metric[fleetmetrics.LabelAgent]) == path {
			want = path
			break
		}
	}
	return slices.DeleteFunc(m, func(s *model.SampleStream) bool { return string(s.Metric[fleetmetrics.LabelAgent]) != want })
}

// readAgents sorts the samples of the state and percent series by point
// and by agent: a series' labels but its name and state say which agent
// (host, instance, job, app) it comes from.
func readAgents(m model.Matrix, g grid) []map[string]*agentAt {
	at := make([]map[string]*agentAt, g.n+1)
	for i := range at {
		at[i] = map[string]*agentAt{}
	}
	for _, s := range m {
		name := string(s.Metric[model.MetricNameLabel])
		key := agentKey(s.Metric)
		for _, v := range s.Values {
			i, ok := g.index(v.Timestamp.Time())
			if !ok {
				continue
			}
			a := at[i][key]
			if a == nil {
				a = &agentAt{id: hostID(s.Metric)}
				at[i][key] = a
			}
			switch {
			case name == metricPercent:
				a.percent, a.seen = float64(v.Value), true
			case name == metricState && v.Value == 1:
				a.states = append(a.states, string(s.Metric[fleetmetrics.LabelState]))
			}
		}
	}
	return at
}

// agentKey identifies the agent of a series: its labels without the name
// and the state.
func agentKey(m model.Metric) string {
	var b strings.Builder
	names := make([]string, 0, len(m))
	for k := range m {
		if k != model.MetricNameLabel && k != fleetmetrics.LabelState {
			names = append(names, string(k))
		}
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(&b, "%s=%q,", k, m[model.LabelName(k)])
	}
	return b.String()
}

func hostID(m model.Metric) string {
	if id := m[fleetmetrics.LabelHostID]; id != "" {
		return string(id)
	}
	return string(m["instance"])
}

// readCheck turns a check's answer into one number per point: a point
// where no series or more than one has a sample is missing data, and so
// is NaN.
func readCheck(m model.Matrix, g grid) []checkAt {
	counts := make([]int, g.n+1)
	out := fill(g.n, checkAt{missing: "no number"})
	for _, s := range m {
		for _, v := range s.Values {
			i, ok := g.index(v.Timestamp.Time())
			if !ok {
				continue
			}
			counts[i]++
			switch {
			case counts[i] > 1:
				out[i] = checkAt{missing: fmt.Sprintf("%d series, not one number", counts[i])}
			case math.IsNaN(float64(v.Value)):
				out[i] = checkAt{missing: "NaN, not a number"}
			default:
				out[i] = checkAt{value: float64(v.Value)}
			}
		}
	}
	return out
}

func fill(n int, c checkAt) []checkAt {
	out := make([]checkAt, n+1)
	for i := range out {
		out[i] = c
	}
	return out
}
